"""A run's outcome in memory: its status, error and timings, and its results as numpy arrays with units."""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas

_EMPTY: NDArray[numpy.float64] = numpy.zeros(0)


@dataclass(frozen=True, eq=False)
class Series:
    """One recorded variable: its value at every recorded time (Run.time) and its unit (None: not declared)."""

    name: str
    values: NDArray[numpy.float64]
    unit: str | None

    def __len__(self) -> int:
        return len(self.values)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        """The values, so that numpy and matplotlib take a Series as its array."""
        return self.values if dtype is None else self.values.astype(dtype)


@dataclass(frozen=True)
class Timings:
    """How long a run took: wall-clock seconds, the simulated time it reached (s), steps per federate."""

    wall_time: float
    last_time: float
    steps: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Run:
    """A finished run: `status` ("completed", "failed"), `error`, `timings`, and its results.

    `time` holds the recorded times (s); `run["furnace.P_el"]` a variable's values and unit (a Series);
    `variables` the recorded variables in results.csv's order, `units` their units. `out` is the
    results folder, or None when the run was made in a temporary one (its results are all here).
    `record` is what run.json says (mode, versions, the failure's federate and time...).
    """

    federation: str
    status: str
    error: BaseException | None
    timings: Timings
    time: NDArray[numpy.float64]
    columns: Mapping[str, NDArray[numpy.float64]]
    units: Mapping[str, str | None]
    out: Path | None
    record: Mapping[str, Any]

    @property
    def variables(self) -> list[str]:
        """The recorded `federate.variable` names, in results.csv's order."""
        return list(self.columns)

    def __getitem__(self, name: str) -> Series:
        values = self.columns.get(name)
        if values is None:
            close = difflib.get_close_matches(name, list(self.columns), n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise KeyError(f"{name!r} was not recorded in run of {self.federation!r} (recorded: "
                           f"{', '.join(self.columns) or 'nothing'}){hint}")
        return Series(name, values, self.units.get(name))

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __iter__(self) -> Iterator[Series]:
        return (self[name] for name in self.columns)

    def raise_for_status(self) -> Run:
        """Raise the run's error unless it completed; return the run when it did."""
        if self.status == "completed":
            return self
        raise self.error if self.error is not None else RuntimeError(f"the run of {self.federation!r} {self.status}")

    def to_pandas(self) -> pandas.DataFrame:
        """The results as a DataFrame indexed by time (s), one column per variable; units in `.attrs["units"]`.

        Needs pandas: `pip install 'federation[pandas]'`."""
        try:
            import pandas
        except ImportError as exc:
            raise ImportError("Run.to_pandas() needs pandas, which is not installed: install the extra with "
                              "`pip install 'federation[pandas]'` (or `pip install pandas`)") from exc
        frame = pandas.DataFrame(dict(self.columns), index=pandas.Index(self.time, name="time"))
        frame.attrs["units"] = dict(self.units)
        return frame

    def __repr__(self) -> str:
        where = f" -> {self.out}" if self.out else ""
        return (f"<Run {self.federation!r} {self.status}: {len(self.time)} rows of {len(self.columns)} variables, "
                f"{self.timings.wall_time:.2f} s wall{where}>")


def read_run(folder: Path, federation: str, units: Mapping[str, str | None], error: BaseException | None,
             out: Path | None) -> Run:
    """The run of `federation` recorded in `folder` (run.json, results.csv), read into memory.

    `error`: the exception the run raised, if any; a failed run read back without one (a sweep's)
    gets a RuntimeError with the words run.json recorded.
    """
    record = _run_json(folder / "run.json")
    status = str(record.get("status", "failed"))
    if error is None and status != "completed":
        error = RuntimeError(str(record.get("error") or f"the run {status}"))
    columns = _read_results(folder / "results.csv")
    time = columns.pop("time", _EMPTY)
    timings = Timings(float(record.get("wall_time_s", 0.0)), float(record.get("last_time_s", 0.0)),
                      dict(record.get("steps") or {}))
    return Run(federation, status, error, timings, time, columns,
               {name: units.get(name) for name in columns}, out, record)


def _run_json(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _read_results(path: Path) -> dict[str, NDArray[numpy.float64]]:
    """results.csv as {column: float64 array}; every value read by float() from its repr(), so exactly."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        return {}
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    table = numpy.array([[float(x) for x in row] for row in body], dtype=numpy.float64).reshape(len(body), len(header))
    return {name: table[:, index].copy() for index, name in enumerate(header)}
