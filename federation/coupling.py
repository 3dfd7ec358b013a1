"""What the scenario tells a time-stepped federate: its clock, its wiring, and the point every federate meets at.

Beside the ambassador, so that adapters, the recorder and the runtimes share them without the federation
package importing any adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from federation.rti.time import LogicalTime

__all__ = ["Clock", "INIT_POINT", "Wiring"]

INIT_POINT = "initialized"


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
    conversions: dict[str, tuple[float, float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    """A federate's time line in ticks: start, stop and its own communication step."""

    start: LogicalTime
    stop: LogicalTime
    step: LogicalTime
