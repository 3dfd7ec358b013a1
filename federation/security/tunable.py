"""Site-side parameter control: a host sets only the parameters its site lists as `tunable`.

The rule is the scenario's (federation.scenario.rules.untunable), which `validate` and the sweep's
up-front check report, so a scenario they accept is not refused by a host; the host still enforces
it for its own federates, whatever the coordinator's copy of the scenario says.
"""

from __future__ import annotations

from federation.errors import ConfigurationError
from federation.scenario import Scenario
from federation.scenario.rules import untunable

__all__ = ["ParameterNotTunable", "check_tunable"]


class ParameterNotTunable(ConfigurationError, ValueError):
    """A scenario (or --set / sweep) sets a parameter its site did not open to the federation."""


def check_tunable(scenario: Scenario, site: str) -> None:
    """Refuse, naming every offending parameter, values for parameters outside a federate's `tunable` list.

    Checked for `site`'s federates only: each site decides for its own twins.
    """
    refused = [f"{name}.{parameter}" for name, spec in scenario.federates.items()
               if spec.site == site for parameter in untunable(spec)]
    if refused:
        raise ParameterNotTunable(
            f"site {site!r} does not let the federation set {', '.join(refused)} "
            f"(not in the federate's 'tunable' list in {scenario.path})")
