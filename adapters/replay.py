"""Replay federate: plays a recorded time series (e.g. measured data) as outputs.

The value at time t is the last sample at or before t (zero-order hold), so a
replay feeds a twin exactly what was measured, at any communication step. The
runtime reads and checks the CSV (as `validate` does) and hands the series over.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Sequence

from federation.ambassador import LogicalTime, to_ticks
from federation.errors import ModelError

from .stepped import Clock, SteppedFederate, Wiring


class ReplayError(ModelError, RuntimeError):
    """A replay federate's series cannot be played."""


class ReplayFederate(SteppedFederate):
    def __init__(self, name: str, owner: str, source: Path, columns: Sequence[str], times: Sequence[float],
                 rows: Sequence[Sequence[float]], outputs: Sequence[str], clock: Clock, wiring: Wiring) -> None:
        """`columns` name the values of each row (time excluded); `times` are in seconds, increasing."""
        super().__init__(name, owner, outputs, clock, wiring)
        missing = [o for o in self.outputs if o not in columns]
        if missing:
            raise ReplayError(f"federate {name!r}: {source} has no column {', '.join(map(repr, missing))}")
        index = [list(columns).index(o) for o in self.outputs]
        self._times = [to_ticks(t) for t in times]
        self._rows = [[row[i] for i in index] for row in rows]

    def _at(self, t: LogicalTime) -> list[float]:
        i = bisect.bisect_right(self._times, t) - 1
        return self._rows[max(i, 0)]

    def initial_outputs(self) -> Sequence[float]:
        return self._at(self.clock.start)

    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        return self._at(t + h)
