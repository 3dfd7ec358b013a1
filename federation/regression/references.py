"""`--update-references`: a case's reference CSV rewritten from this run's results, and what changed.

What is written: the compared columns only (the case's `variables`, else the existing reference's columns,
else every recorded column), on the existing reference's time grid when there is one (so a downsampled
reference stays as small, and its diff reads as a change of values only); a new reference takes the run's
time grid, every `reference_step` seconds when the case sets one (plus the last row). Values are the run's,
linearly interpolated onto the grid (exact on the run's own sample times), written in full precision.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from federation.comparison import read_table

from federation.regression.suite import Case

log = logging.getLogger(__name__)


@dataclass
class ColumnChange:
    """One column of a rewritten reference: the largest |new - old| and where (None: the column is new)."""

    name: str
    max_change: float | None
    at: float | None = None


@dataclass
class ReferenceUpdate:
    """A reference rewritten (or `created`), from which run, and its columns' changes (`removed`: columns the
    old reference had that the new one has not)."""

    case: str
    path: Path
    source: Path
    created: bool
    columns: list[ColumnChange] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[ColumnChange]:
        """The columns whose values changed, or that are new."""
        return [c for c in self.columns if c.max_change is None or c.max_change > 0]


def update_reference(case: Case, results_csv: Path) -> ReferenceUpdate:
    """Rewrite `case.reference` from `results_csv` (see the module); CompareError for an unreadable file,
    ValueError when the results lack a column the case names."""
    assert case.reference is not None
    results = read_table(results_csv, "results").signals
    old = read_table(case.reference, "reference").signals if case.reference.is_file() else None
    if case.variables is not None:
        columns = list(case.variables)
    elif old:
        columns = [name for name in old if name in results]
    else:
        columns = list(results)
    lacking = [name for name in columns if name not in results]
    if lacking:
        raise ValueError(f"case {case.name!r}: the results have no column {', '.join(lacking)} (variables)")
    run_times = next(iter(results.values()))[0] if results else np.empty(0)
    old_grid = next(iter(old.values()))[0] if old else None
    if old_grid is not None and old_grid.size and run_times.size and run_times[0] <= old_grid[0] \
            and old_grid[-1] <= run_times[-1]:
        grid = old_grid  # the reference's own grid (it may be downsampled), inside the run's span
    else:  # none, or the run spans another time (a changed stop): interpolating would extend values flat
        if old_grid is not None:
            log.warning("case %r: the run spans another time than its reference %s: the reference takes the "
                        "run's grid", case.name, case.reference)
        grid = run_times
        if case.reference_step is not None:
            grid = _every(grid, case.reference_step)
    values = {name: np.interp(grid, *results[name]) for name in columns}
    update = ReferenceUpdate(case.name, case.reference, results_csv, old is None)
    for name in columns:
        before = (old or {}).get(name)
        if before is None:
            update.columns.append(ColumnChange(name, None))
            continue
        diff = np.abs(values[name] - np.interp(grid, *before))
        worst = int(np.nanargmax(diff)) if len(diff) and not np.isnan(diff).all() else 0
        update.columns.append(ColumnChange(name, float(diff[worst]) if len(diff) else 0.0,
                                           float(grid[worst]) if len(diff) else None))
    update.removed = [name for name in (old or {}) if name not in columns]
    _write_csv(case.reference, grid, values)
    log.info("reference %s of case %s rewritten from %s", case.reference, case.name, results_csv)
    return update


def _every(times: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """The times on multiples of `step` from the first (within a ns), and the last."""
    if not len(times):
        return times
    k = (times - times[0]) / step
    keep = np.abs(k - np.round(k)) * step < 1e-9
    keep[-1] = True
    return times[keep]


def _write_csv(path: Path, grid: NDArray[np.float64], values: dict[str, NDArray[np.float64]]) -> None:
    """time and the columns, every float as repr writes it (the shortest text that reads back exactly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(values)
    lines = [",".join(["time", *names])]
    for i, t in enumerate(grid):
        lines.append(",".join([repr(float(t)), *(_text(values[n][i]) for n in names)]))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)  # a reader never sees half a reference


def _text(value: float) -> str:
    return "nan" if math.isnan(value) else repr(float(value))
