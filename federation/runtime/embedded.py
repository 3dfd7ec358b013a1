"""Embedded runtime: the whole federation in one process, driven by plain calls to the RTI core."""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from federation import __version__
from federation.ambassador import Federate, RTIAmbassador
from federation.results.plot import plot_results
from federation.results.recorder import Recorder
from federation.rti import RTI, FederationExecution
from federation.rti.time import LogicalTime, to_seconds, to_ticks
from federation.scenario import Scenario

from .assembly import build_federate, build_fom, build_recorder
from .driver import drive

log = logging.getLogger(__name__)


class FederationStalled(RuntimeError):
    """No federate can make progress: names every waiting federate and its logical time."""


@dataclass
class RunResult:
    out_dir: Path
    status: str
    wall_time: float
    steps: dict[str, int] = field(default_factory=dict)
    last_time: float = 0.0
    error: str | None = None


def run_embedded(
    scenario: Scenario,
    out_dir: Path,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
) -> RunResult:
    """Run a scenario to its stop time; results up to the last completed step survive any error."""
    out_dir.mkdir(parents=True, exist_ok=True)
    execution = RTI().create_federation_execution(scenario.federation, build_fom(scenario), to_ticks(scenario.time.start))
    recorder = build_recorder(scenario, out_dir, on_progress)
    federates: list[Federate] = []
    started = time.perf_counter()
    result = RunResult(out_dir, "failed", 0.0)
    try:
        federates.extend(build_federate(scenario, name) for name in scenario.federates)
        federates.append(recorder)
        by_handle: dict[int, Federate] = {}
        for fed in federates:
            amb = RTIAmbassador(execution, fed.name)
            by_handle[amb.handle] = fed
            fed.start(amb)
        recorder.begin()

        def stalled() -> None:
            waiting = ", ".join(f"{f.name}@{to_seconds(f.time)}s" for f in execution.federates)
            raise FederationStalled(f"federation {scenario.federation!r} stalled; waiting: {waiting}")

        drive(by_handle, execution.take_ready, execution.drain, stalled)
        result.status = "completed"
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.error = "interrupted by the user"
        raise
    except Exception as exc:
        result.error = str(exc)
        _salvage(execution, recorder)
        raise
    finally:
        for fed in federates:
            try:
                fed.close()
            except Exception:  # keep closing the others; the first error is what matters
                log.exception("closing federate %s failed", fed.name)
        recorder.close()
        result.wall_time = time.perf_counter() - started
        result.last_time = to_seconds(recorder.time)
        result.steps = {f.name: getattr(f, "steps", 0) for f in federates if f is not recorder}
        write_run_json(scenario, result, "embedded")
        if plot and recorder.sink.rows:
            plot_results(out_dir / "results.csv", out_dir / "results.png", scenario.federation)
    return result


def _salvage(execution: FederationExecution, recorder: Recorder) -> None:
    """After a failure, record what the RTI had already granted the recorder."""
    try:
        handle = execution.federate_by_name(recorder.name).handle
        recorder.handle(execution.drain(handle))
    except Exception:  # the original error is the one to report
        log.debug("nothing more to salvage", exc_info=True)


def write_run_json(scenario: Scenario, result: RunResult, mode: str) -> None:
    import fmpy
    import numpy

    info = {
        "federation": scenario.federation,
        "scenario": str(scenario.path),
        "scenario_sha256": scenario.sha256(),
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
    }
    (result.out_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n")
