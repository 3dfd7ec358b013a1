"""Logical time as an integer count of nanoseconds, never accumulated floats."""

from __future__ import annotations

TICKS_PER_SECOND = 1_000_000_000

LogicalTime = int

# Beyond any run (about 146 years): the GALT of a federate nobody else constrains.
END_OF_TIME: LogicalTime = 2**62


def to_ticks(seconds: float) -> LogicalTime:
    """Round seconds to the nearest tick, so 0.1 s steps land exactly on 1 s."""
    return int(round(seconds * TICKS_PER_SECOND))


def to_seconds(ticks: LogicalTime) -> float:
    return ticks / TICKS_PER_SECOND
