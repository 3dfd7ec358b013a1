"""What each run of a sweep came to, its metrics (min/max/mean, energy of W columns), and summary.csv."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence


@dataclass
class RunOutcome:
    name: str
    params: dict[str, Any]
    status: str
    error: str | None = None
    wall_time: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    skipped: bool = False
    reason: str = ""  # why it was reused, or why a run its folder held was not


def metrics_of(results_csv: Path, units: Mapping[str, str | None]) -> dict[str, float]:
    """Per column min/max/mean (NaN ignored) and, for columns in W, the energy in J (trapezoid)."""
    try:
        with open(results_csv, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    header, body = rows[0], rows[1:]
    times = [float(r[0]) for r in body]
    out: dict[str, float] = {}
    for col, name in enumerate(header[1:], start=1):
        values = [float(r[col]) for r in body]
        finite = [v for v in values if not math.isnan(v)]
        if finite:
            out[f"{name}.min"] = min(finite)
            out[f"{name}.max"] = max(finite)
            out[f"{name}.mean"] = math.fsum(finite) / len(finite)
        if units.get(name) == "W":
            out[f"{name}.energy_J"] = math.fsum(
                0.5 * (values[i] + values[i - 1]) * (times[i] - times[i - 1]) for i in range(1, len(values))
                if not (math.isnan(values[i]) or math.isnan(values[i - 1])))
    return out


def units_of(scenario: Any) -> dict[str, str | None]:
    units: dict[str, str | None] = {}
    for fed, var in scenario.recorded():
        info = scenario.interfaces[fed].variables.get(var)
        units[f"{fed}.{var}"] = info.unit if info is not None else None
    return units


def write_summary(path: Path, outcomes: Sequence[RunOutcome]) -> None:
    param_keys: list[str] = []
    metric_keys: list[str] = []
    for o in outcomes:
        param_keys += [k for k in o.params if k not in param_keys]
        metric_keys += [k for k in o.metrics if k not in metric_keys]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["run", *param_keys, "status", "skipped", "reason", "error", "wall_time_s", *metric_keys])
        for o in outcomes:
            w.writerow([o.name, *(o.params.get(k, "") for k in param_keys), o.status, str(o.skipped).lower(),
                        o.reason, o.error or "", f"{o.wall_time:.3f}", *(repr(o.metrics[k]) if k in o.metrics else ""
                                                              for k in metric_keys)])
