"""What every runtime does around a run, whatever happens in it: status, run.json and the plot.

run.json makes results comparable across runs: `results_sha256` (results.csv as written, a failed run's
rows too), `scenario_sha256` (the scenario file's bytes) with the `overrides` applied to it, `models`
(each federate's model files and their SHA-256: an FMU's archive, a replay CSV, a Python model's sources,
as its kind's `sources()` names them) and the tool versions: a pipeline tells "the model changed" from
"the orchestrator changed" by which of them differ.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from federation import __version__
from federation.errors import FederationFailed
from federation.kinds import file_sha256, kind
from federation.results.recorder import Recorder
from federation.rti.time import to_seconds
from federation.scenario import Scenario

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    out_dir: Path
    status: str
    wall_time: float
    steps: dict[str, int] = field(default_factory=dict)
    last_time: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # mode-specific facts for run.json
    plot_note: str | None = None  # why no results.png was drawn although one was asked for


@contextmanager
def recorded_run(scenario: Scenario, out_dir: Path, recorder: Recorder, mode: str, plot: bool,
                 closing: Callable[[RunResult], Mapping[str, Any]] | None = None) -> Iterator[RunResult]:
    """Yield the run's result; on exit mark it completed, failed or interrupted and keep what was recorded.

    `closing(result)`, once the status is known and just before run.json is written, returns more for
    run.json (the audit log's end, which must be written first so that run.json can record it).

    The body's own clean-up (closing connections, stopping processes) runs first, inside it.
    After a failure or an interrupt the recorder still writes every row it knows complete: below
    the last safe GALT it got (in the distributed modes, whatever reached it before the connection
    closed). When the federation failed, no row past the failing federate's logical time is kept,
    in any mode (see Recorder.salvage).
    """
    result = RunResult(out_dir, "failed", 0.0)
    started = time.perf_counter()
    # A previous run's plot must not sit beside this run's results as if it were theirs.
    (out_dir / "results.png").unlink(missing_ok=True)
    try:
        yield result
        result.status = "completed"
    except KeyboardInterrupt:
        result.status, result.error = "interrupted", "interrupted by the user"
        recorder.salvage()
        raise
    except FederationFailed as exc:
        result.error = result.error or str(exc)
        result.extra["failure"] = {"federate": exc.federate, "site": exc.host, "time_s": to_seconds(exc.time)}
        recorder.salvage(until=exc.time)
        raise
    except Exception as exc:
        result.error = result.error or str(exc)
        recorder.salvage()
        raise
    finally:
        recorder.close()
        if recorder.ended is not None:
            result.extra["ended_by"] = recorder.ended
        if recorder.terminated:
            result.extra["terminated"] = recorder.terminated
        result.wall_time = time.perf_counter() - started
        result.last_time = to_seconds(recorder.time)
        closed: Mapping[str, Any] | None = None
        try:
            if plot and recorder.sink.rows:
                result.plot_note = draw_plot(scenario, out_dir)
        finally:
            try:
                closed = closing(result) if closing is not None else None
            finally:
                write_run_json(scenario, result, mode, closed)


def draw_plot(scenario: Scenario, out_dir: Path) -> str | None:
    """results.png from results.csv; else why not, logged as a warning. Never raises: a plot is a view of
    the results, and how the run ended (run.json, the exit code) does not depend on it."""
    from federation.results.plot import NothingToPlot, plot_results

    png = out_dir / "results.png"
    try:
        plot_results(out_dir / "results.csv", png, scenario.federation)
        return None
    except NothingToPlot as exc:
        note = f"no results.png: {exc}"
    except Exception as exc:  # matplotlib missing or failing, a full disk...
        log.debug("plotting %s failed", out_dir, exc_info=True)
        with contextlib.suppress(OSError):
            png.unlink(missing_ok=True)  # not half a plot
        note = f"no results.png: plotting failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
    log.warning("%s", note)
    return note


def model_digests(scenario: Scenario, federates: Iterable[str] | None = None, strict: bool = False) -> dict[str, dict[str, str]]:
    """{federate: {model file, relative to the scenario's folder: SHA-256}} of `federates` (default: all), as
    their kinds' `sources()` name the files.

    Only for models this process has loaded (a Python model's sources are found from its imported module):
    a ray coordinator, which holds no site's model, takes them from the sites' hosts. Unless `strict`, a
    federate whose files cannot be read now is left out (logged): a run's record never fails for it."""
    folder = scenario.path.parent
    out: dict[str, dict[str, str]] = {}
    for name in scenario.federates if federates is None else federates:
        try:
            model = scenario.model_of(name)
            out[name] = {os.path.relpath(path, folder): digest for path, digest in kind(model.kind).sources(model).items()}
        except Exception:
            if strict:
                raise
            log.warning("cannot digest the model files of federate %r", name, exc_info=True)
    return out


def write_run_json(scenario: Scenario, result: RunResult, mode: str, extra: Mapping[str, Any] | None = None) -> None:
    """out_dir/run.json: how the run ended, and the digests of its inputs and results (see the module)."""
    import fmpy
    import numpy

    results = result.out_dir / "results.csv"
    info = {
        "federation": scenario.federation,
        "scenario": str(scenario.path),
        "scenario_sha256": scenario.sha256(),
        "overrides": {key: value for key, value in scenario.overrides.items()},
        "results_sha256": file_sha256(results) if results.is_file() else None,
        "mode": mode,
        "status": result.status,
        "error": result.error,
        "wall_time_s": round(result.wall_time, 6),
        "last_time_s": result.last_time,
        "time": scenario.time.model_dump(),
        "steps": result.steps,
        "versions": {
            "federation": __version__,
            "python": platform.python_version(),
            "fmpy": fmpy.__version__,
            "numpy": numpy.__version__,
        },
        **({"plot_note": result.plot_note} if result.plot_note else {}),
        **result.extra,
        **(extra or {}),
    }
    (result.out_dir / "run.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
