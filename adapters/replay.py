"""Replay federate: plays a recorded CSV time series (e.g. measured data) as outputs.

The value at time t is the last sample at or before t (zero-order hold), so a
replay feeds a twin exactly what was measured, at any communication step.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Sequence

from federation.ambassador import LogicalTime, to_ticks
from federation.interfaces import InterfaceError, read_replay_csv

from .stepped import Clock, SteppedFederate, Wiring


class ReplayError(RuntimeError):
    """A replay federate's CSV cannot be played."""


def read_series(path: Path) -> tuple[list[str], list[LogicalTime], list[list[float]]]:
    """Columns (units stripped from 'name [unit]' headers), sample ticks and rows, checked as `validate` does."""
    series = read_replay_csv(path)
    return [name for name, _ in series.columns], [to_ticks(t) for t in series.times], series.rows


class ReplayFederate(SteppedFederate):
    def __init__(self, name: str, owner: str, path: Path, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> None:
        super().__init__(name, owner, outputs, clock, wiring)
        try:  # the file may have changed since validation
            columns, self._times, rows = read_series(path)
        except InterfaceError as exc:
            raise ReplayError(f"federate {name!r}: {exc}") from None
        missing = [o for o in self.outputs if o not in columns]
        if missing:
            raise ReplayError(f"federate {name!r}: {path} has no column {', '.join(map(repr, missing))}")
        index = [columns.index(o) for o in self.outputs]
        self._rows = [[row[i] for i in index] for row in rows]

    def _at(self, t: LogicalTime) -> list[float]:
        i = bisect.bisect_right(self._times, t) - 1
        return self._rows[max(i, 0)]

    def initial_outputs(self) -> Sequence[float]:
        return self._at(self.clock.start)

    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        return self._at(t + h)
