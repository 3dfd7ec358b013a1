"""Owner-side parameter control: a host sets only the parameters its owner lists as `tunable`."""

from __future__ import annotations

from federation.scenario import Scenario


class ParameterNotTunable(ValueError):
    """A scenario (or --set / sweep) sets a parameter its owner did not open to the federation."""


def check_tunable(scenario: Scenario, site: str) -> None:
    """Refuse, naming every offending parameter, values for parameters outside a federate's `tunable` list.

    Checked for `site`'s federates only: each owner decides for its own twins. A federate
    without a `tunable` list accepts the parameters the scenario gives it.
    """
    refused = [f"{name}.{parameter}" for name, spec in scenario.federates.items()
               if spec.owner == site and spec.tunable is not None
               for parameter in spec.parameters if parameter not in spec.tunable]
    if refused:
        raise ParameterNotTunable(
            f"site {site!r} does not let the federation set {', '.join(refused)} "
            f"(not in the federate's 'tunable' list in {scenario.path})")
