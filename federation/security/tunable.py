"""Owner-side parameter control: a host sets only the parameters its owner lists as `tunable`.

`validate` reports the same refusals up front (federation.scenario uses `untunable`), so a scenario it
accepts is not refused by a host; the host still enforces the rule for its own federates, whatever
the coordinator's copy of the scenario says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from federation.errors import ConfigurationError

if TYPE_CHECKING:  # federation.scenario imports this module
    from federation.scenario import FederateSpec, Scenario


class ParameterNotTunable(ConfigurationError, ValueError):
    """A scenario (or --set / sweep) sets a parameter its owner did not open to the federation."""


def untunable(spec: FederateSpec) -> list[str]:
    """The parameters a federate is given that its `tunable` list leaves out.

    A federate without a `tunable` list accepts the parameters the scenario gives it.
    """
    return [] if spec.tunable is None else [p for p in spec.parameters if p not in spec.tunable]


def check_tunable(scenario: Scenario, site: str) -> None:
    """Refuse, naming every offending parameter, values for parameters outside a federate's `tunable` list.

    Checked for `site`'s federates only: each owner decides for its own twins.
    """
    refused = [f"{name}.{parameter}" for name, spec in scenario.federates.items()
               if spec.owner == site for parameter in untunable(spec)]
    if refused:
        raise ParameterNotTunable(
            f"site {site!r} does not let the federation set {', '.join(refused)} "
            f"(not in the federate's 'tunable' list in {scenario.path})")
