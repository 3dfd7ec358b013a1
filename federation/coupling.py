"""What the scenario tells a time-stepped federate: its clock, its wiring, and the point every federate meets at.

Beside the ambassador, so that adapters, the recorder and the runtimes share them without the federation
package importing any adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from federation.rti.time import LogicalTime

__all__ = ["Clock", "Conversion", "END_INTERACTION", "END_PARAMETERS", "END_REASONS", "INIT_POINT", "ON_TERMINATE", "Wiring", "convert"]

INIT_POINT = "initialized"

# A federate whose model asks to end the simulation tells the recorder with this interaction, stamped with
# its step's end: the recorder then ends the run `back` ticks before that stamp (within the step: exact as a
# double, where an absolute time in ticks would not be past 2**53 ns), if `stop` is 1, or notes it (`stop` 0:
# the others run on). Not an identifier, so never a scenario's interaction; only the recorder may subscribe to it.
END_INTERACTION = "$end"
END_PARAMETERS = ("back", "reason", "stop")
ON_TERMINATE = ("stop", "fail", "continue")  # what a federate's request to end does (scenario `on_terminate`)
END_REASONS: dict[int, str] = {  # the `reason` parameter, in words for run.json
    1: "the FMU asked to end the simulation (FMI 2: doStep returned fmi2Discard and fmi2Terminated is true)",
    2: "the FMU asked to end the simulation (FMI 3: doStep set terminateSimulation)",
    3: "the FMU asked to end the simulation and returned early (FMI 3: doStep set terminateSimulation and "
       "earlyReturn; lastSuccessfulTime is the end)",
    4: "the Python model asked to end the simulation",
    5: "the FMU asked to end the simulation while being integrated (Model Exchange: terminateSimulation in "
       "completedIntegratorStep or an event iteration); its last communication point is the end",
}


Conversion = tuple[float, float, float]  # (scale, shift, divisor): a unit conversion (federation.kinds.units)


def convert(conversion: Conversion, value: float) -> float:
    """A value in the output's unit, in the input's unit: (scale * value + shift) / divisor."""
    scale, shift, divisor = conversion
    return (scale * value + shift) / divisor


@dataclass
class Wiring:
    """Where a federate's inputs come from and what it may send, as the scenario declares."""

    # (source object class = source federate, attribute) -> this federate's input names
    attributes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # (interaction class, parameter) -> this federate's input names
    interactions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    publishes_interactions: list[str] = field(default_factory=list)
    # input name -> (scale, shift, divisor): its value is (scale * v + shift) / divisor of the output's v, the
    # unit conversion of its connection (federation.kinds.units); absent: taken as is
    conversions: dict[str, Conversion] = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    """A federate's time line in ticks: start, stop and its own communication step; what its model's request
    to end the simulation early does (one of ON_TERMINATE)."""

    start: LogicalTime
    stop: LogicalTime
    step: LogicalTime
    on_terminate: str = "stop"
