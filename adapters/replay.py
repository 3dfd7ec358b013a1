"""Replay federate: plays a recorded CSV time series (e.g. measured data) as outputs.

The value at time t is the last sample at or before t (zero-order hold), so a
replay feeds a twin exactly what was measured, at any communication step.
"""

from __future__ import annotations

import bisect
import csv
from pathlib import Path
from typing import Sequence

from federation.ambassador import LogicalTime, to_ticks

from .stepped import Clock, SteppedFederate, Wiring


def read_series(path: Path) -> tuple[list[str], list[LogicalTime], list[list[float]]]:
    """Columns (units stripped from 'name [unit]' headers), sample ticks and rows."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        columns = [h.split("[")[0].strip() for h in header[1:]]
        times: list[LogicalTime] = []
        rows: list[list[float]] = []
        for row in reader:
            if not row:
                continue
            times.append(to_ticks(float(row[0])))
            rows.append([float(x) for x in row[1:]])
    return columns, times, rows


class ReplayFederate(SteppedFederate):
    def __init__(self, name: str, owner: str, path: Path, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> None:
        super().__init__(name, owner, outputs, clock, wiring)
        columns, self._times, rows = read_series(path)
        index = [columns.index(o) for o in self.outputs]
        self._rows = [[row[i] for i in index] for row in rows]

    def _at(self, t: LogicalTime) -> list[float]:
        i = bisect.bisect_right(self._times, t) - 1
        return self._rows[max(i, 0)]

    def initial_outputs(self) -> Sequence[float]:
        return self._at(self.clock.start)

    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        return self._at(t + h)
