"""Replay federate: plays a recorded time series (e.g. measured data) as outputs.

The value at time t is the last sample at or before t (zero-order hold), so a
replay feeds a twin exactly what was measured, at any communication step. The
kind reads and checks the CSV (as `validate` does) and hands the series over.
"""

from __future__ import annotations

import bisect
import csv
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from federation.ambassador import LogicalTime, to_ticks
from federation.clip import short_repr
from federation.coupling import Clock, Wiring
from federation.kinds import Model, file_sha256
from federation.kinds.interface import FederateInterface, InterfaceError, VariableInfo
from federation.errors import ModelError

from adapters.stepped import SteppedFederate


class ReplayError(ModelError, RuntimeError):
    """A replay federate's series cannot be played."""


class ReplayFederate(SteppedFederate):
    def __init__(self, name: str, site: str, source: Path, columns: Sequence[str], times: Sequence[float],
                 rows: Sequence[Sequence[float]], outputs: Sequence[str], clock: Clock, wiring: Wiring) -> None:
        """`columns` name the values of each row (time excluded); `times` are in seconds, increasing."""
        super().__init__(name, site, outputs, clock, wiring)
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


_HEADER_UNIT = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")


def split_header_cell(cell: str) -> tuple[str, str | None]:
    """'name [unit]' -> ('name', 'unit'); 'name' -> ('name', None)."""
    match = _HEADER_UNIT.match(cell)
    if match is None:
        return cell.strip(), None
    unit = match.group("unit")
    return match.group("name"), (unit.strip() or None) if unit is not None else None


@dataclass(frozen=True)
class ReplaySeries:
    """A replay CSV as read: output columns (name, unit), sample times in seconds and the outputs' rows."""

    columns: list[tuple[str, str | None]]
    times: list[float]
    rows: list[list[float]]


def _replay_cell(path: Path, line: int, column: str, cell: str) -> float:
    if not cell.strip():
        raise InterfaceError(f"{path}: row {line}, column {short_repr(column)}: empty cell")
    try:
        return float(cell)
    except ValueError:  # the column is named (its header was read as a replay's), the cell is not quoted
        raise InterfaceError(f"{path}: row {line}, column {short_repr(column)}: not a number") from None


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows with their line numbers; InterfaceError unless it is a readable CSV text file."""
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would hide the 'time' header
        with path.open(newline="", encoding="utf-8-sig") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # a device (/dev/zero) or a pipe may never end
                raise InterfaceError(f"{path}: a replay CSV must be a regular file")
            reader = csv.reader(handle)
            try:
                return [(line, row) for line, row in enumerate(reader, start=1)
                        if any(cell.strip() for cell in row)]  # blank lines, and ',,' rows of blank cells
            except csv.Error as exc:  # e.g. a field beyond the csv module's limit: its words, not the field
                raise InterfaceError(f"{path}: row {reader.line_num}: not CSV text ({exc})") from None
    except OSError as exc:
        raise InterfaceError(f"{path}: replay CSV not found or unreadable: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InterfaceError(f"{path}: replay CSV is not UTF-8 text") from exc


def read_replay_csv(path: Path) -> ReplaySeries:
    """Read and check a replay CSV 'time,<col> [unit]...'; both `validate` and the replay federate use it.

    Its problems are told by row and column, never by quoting the file: a path given by mistake (or on
    purpose) may name any file this user can read.
    """
    path = Path(path)
    lines = _csv_rows(path)
    if not lines:
        raise InterfaceError(f"{path}: replay CSV is empty")
    header = [split_header_cell(cell) for cell in lines[0][1]]
    if header[0][0] != "time":
        raise InterfaceError(f"{path}: not a replay CSV: the first column of its first row must be 'time'")
    names = [name for name, _ in header]
    if len(set(names)) != len(names) or not all(names):
        raise InterfaceError(f"{path}: column names must be unique and non-empty")
    if len(lines) == 1:
        raise InterfaceError(f"{path}: replay CSV has a header but no data rows")
    times: list[float] = []
    rows: list[list[float]] = []
    for line, row in lines[1:]:
        if len(row) != len(header):
            raise InterfaceError(f"{path}: row {line} has {len(row)} cells, header has {len(header)}")
        values = [_replay_cell(path, line, name, cell) for name, cell in zip(names, row)]
        if not math.isfinite(values[0]) or (times and values[0] <= times[-1]):
            raise InterfaceError(f"{path}: row {line}: its time must be finite and after the previous row's "
                                 "(times strictly increase)")
        times.append(values[0])
        rows.append(values[1:])
    return ReplaySeries(header[1:], times, rows)


def replay_interface(path: Path) -> FederateInterface:
    """Interface of a replay federate: a CSV 'time,<col>...' whose columns all become Real outputs."""
    series = read_replay_csv(path)
    variables = {name: VariableInfo(name=name, causality="output", type="Real", unit=unit,
                                    variability="continuous", start=None)
                 for name, unit in series.columns}
    return FederateInterface(kind="replay", variables=variables, model_name=Path(path).stem)


class ReplayKind:
    """Recorded time series (measured data) played as outputs."""

    name = "replay"
    label = "replay CSV"
    reads_file = True
    runs_code = False
    sends_interactions = False

    def interface(self, model: Model) -> FederateInterface:
        assert model.path is not None
        return replay_interface(model.path)

    def probe(self, model: Model, interface: FederateInterface, load: bool) -> str | None:
        return None  # reading it (interface) was the whole check

    def parameter_problems(self, model: Model, interface: FederateInterface) -> list[tuple[str, str]]:
        return []  # it has no parameters: the scenario's rules refuse any

    def sources(self, model: Model) -> dict[Path, str]:
        assert model.path is not None
        return {model.path: file_sha256(model.path)}

    def federate(self, model: Model, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> ReplayFederate:
        assert model.path is not None
        try:  # the file may have changed since validation
            series = read_replay_csv(model.path)
        except InterfaceError as exc:
            raise ReplayError(f"federate {model.federate!r}: {exc}") from None
        return ReplayFederate(model.federate, model.site, model.path, [column for column, _ in series.columns],
                              series.times, series.rows, outputs, clock, wiring)


KIND = ReplayKind()
