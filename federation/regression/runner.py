"""Running a suite: every case in each of its modes, in parallel, each run judged against its reference and
expectations; then JUnit XML and the HTML report.

Locally (`jobs` at a time) each run is a process of its own (federation.regression.worker), which a timeout
stops (SIGTERM: it ends as interrupted, its rows and run.json kept, then SIGKILL if it lingers); on Ray
(`on_ray`) each run is a task of one CPU, pinned like a sweep's runs to a node that holds every site of
its scenario when there is one, and cancelled at its timeout. A run that fails, times out or cannot even
start fails its case; the suite goes on.

The results folder (`out`) holds one run folder per case and mode (`<case>/<mode>/`: results.csv,
run.json...), beside its worker's job and log (`<case>/<mode>.job.json`, `<case>/<mode>.log`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from federation.comparison import Check, Comparison, CompareError, compare, read_table, write_junit, write_report
from federation.errors import ConfigurationError
from federation.runtime.processes import spawn, stop_all

from federation.regression.expect import check_expectations
from federation.regression.references import ReferenceUpdate, update_reference
from federation.regression.suite import Case, Suite

log = logging.getLogger(__name__)

STOP_GRACE = 15.0  # s a stopped run has to record its rows and stop its hosts before it is killed
RUN_CHECK = "run"  # the name of the check that a run completed


@dataclass
class CaseRun:
    """One case in one mode: how its run ended, its checks (the run, each compared signal, each expectation),
    the comparison with the reference (None without one, or when the run failed) and its run folder."""

    case: str
    mode: str
    status: str  # completed, failed, timed out, interrupted
    error: str | None
    wall_time: float
    out: Path
    checks: list[Check] = field(default_factory=list)
    comparison: Comparison | None = None

    @property
    def name(self) -> str:
        return f"{self.case}[{self.mode}]"

    @property
    def passed(self) -> bool:
        return self.status == "completed" and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The failing checks, the run's own first."""
        return [c for c in self.checks if not c.passed]


@dataclass
class SuiteResult:
    """What a suite came to: a CaseRun per case and mode (in the suite's order), the references rewritten
    (with update_references), and where the results, the JUnit file and the report are."""

    suite: Suite
    runs: list[CaseRun]
    out: Path
    junit: Path | None = None
    report: Path | None = None
    updates: list[ReferenceUpdate] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    @property
    def failed(self) -> list[CaseRun]:
        return [r for r in self.runs if not r.passed]


@dataclass(frozen=True)
class _Job:
    case: Case
    mode: str
    out: Path  # the run folder

    def spec(self) -> dict[str, Any]:
        return {"scenario": str(self.case.scenario), "overrides": dict(self.case.overrides), "mode": self.mode,
                "out": str(self.out)}


def run_suite(suite: Suite, out: Path, *, jobs: int | None = None, on_ray: bool = False, address: str | None = None,
              timeout: float | None = None, update_references: bool = False, junit: Path | None = None,
              report: Path | None = None, on_done: Callable[[CaseRun], None] | None = None) -> SuiteResult:
    """Run every case of `suite` in each of its modes, `jobs` at a time (default: the CPU count) or on Ray, into
    `out`; judge each run; write `junit` and the HTML `report` (a folder) when given.

    `timeout` (s) applies to a run whose case sets none. With `update_references`, once every run has ended,
    each reference is rewritten (federation.regression.references) from the first case naming it, from that
    case's first mode's run if it completed; then every run is judged against the references as they are.
    `on_done(run)` is called as each run is judged."""
    if jobs is not None and jobs < 1:
        raise ConfigurationError(f"jobs must be 1 or more, got {jobs}")
    started = time.perf_counter()
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    todo = [_Job(case, mode, out / case.name / mode) for case in suite.cases for mode in case.modes]
    limits = {id(job): job.case.timeout or timeout for job in todo}
    done: dict[int, CaseRun] = {}
    ended: dict[int, tuple[dict[str, Any], float]] = {}

    def judged(job: _Job, outcome: dict[str, Any], wall: float) -> None:
        if update_references:  # judged once every reference is rewritten (a case may compare with another's)
            ended[id(job)] = outcome, wall
            return
        done[id(job)] = run = judge(job.case, job.mode, job.out, outcome, wall)
        if on_done is not None:
            on_done(run)

    if on_ray:
        _on_ray(todo, limits, address, judged)
    else:
        workers = jobs or os.cpu_count() or 1
        live: list[subprocess.Popen[bytes]] = []  # the runs' processes, stopped at once if the caller is interrupted
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suite")
        try:
            for future in [pool.submit(_local, job, limits[id(job)], judged, live) for job in todo]:
                future.result()
        except BaseException:  # Ctrl-C in a notebook reaches this thread only: the pool's threads wait on runs
            pool.shutdown(wait=False, cancel_futures=True)
            stop_all(list(live), grace=STOP_GRACE)
            raise
        finally:
            pool.shutdown(wait=True)
    updates = _update_all(todo, ended) if update_references else []
    for job in todo:
        if id(job) in ended:
            done[id(job)] = run = judge(job.case, job.mode, job.out, *ended[id(job)])
            if on_done is not None:
                on_done(run)
    runs = [done[id(job)] for job in todo]
    result = SuiteResult(suite, runs, out, updates=updates)
    if junit is not None:
        result.junit = write_junit(junit, {run.name: run.checks for run in runs}, name=suite.name)
    if report is not None:
        result.report = write_report(report, _sections(runs), title=f"Test suite {suite.name}")
    result.wall_time = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------------------------ judging

def judge(case: Case, mode: str, out: Path, outcome: dict[str, Any], wall: float) -> CaseRun:
    """A run's verdict: a check that it completed, then (when it did) its signals against the reference and
    its expectations."""
    status, error = outcome["status"], outcome.get("error")
    run = CaseRun(case.name, mode, status, error, wall, out)
    run.checks.append(Check(RUN_CHECK, status == "completed", "" if status == "completed" else
                            f"run {status}: {error or 'no reason given'}", outcome.get("time"), duration=wall))
    if status != "completed":
        return run
    results = out / "results.csv"
    if case.reference is not None:
        if not case.reference.is_file():
            run.checks.append(Check("reference", False, f"no reference file {case.reference}: write it with "
                                                        "--update-references"))
        else:
            try:
                comparison = compare(results, case.reference, tolerances=case.tolerances)
                if case.variables is not None:  # only those the case names
                    wanted = set(case.variables)
                    comparison = replace(comparison, signals=[c for c in comparison.signals if c.name in wanted],
                                         missing=[m for m in comparison.missing if m in wanted])
                run.comparison = comparison
                run.checks += comparison.checks()
            except CompareError as exc:
                run.checks.append(Check("reference", False, str(exc)))
    if case.expect:
        try:
            signals = read_table(results, "results").signals
        except CompareError as exc:
            run.checks.append(Check("results", False, str(exc)))
        else:
            run.checks += check_expectations(case.expect, signals)
    return run


def _update_all(todo: Sequence[_Job], ended: dict[int, tuple[dict[str, Any], float]]) -> list[ReferenceUpdate]:
    """Rewrite each reference from the first case (in file order) naming it, from its first mode's run, when that
    run completed; a reference that cannot be written is logged and left as it was."""
    updates: list[ReferenceUpdate] = []
    owners: set[Path] = set()
    for job in todo:
        reference = job.case.reference
        if reference is None or job.mode != job.case.modes[0] or reference in owners:
            continue
        owners.add(reference)
        if ended[id(job)][0]["status"] != "completed":
            log.warning("case %s: reference %s not updated: its %s run did not complete", job.case.name, reference,
                        job.mode)
            continue
        try:
            updates.append(update_reference(job.case, job.out / "results.csv"))
        except (CompareError, ValueError, OSError) as exc:
            log.error("case %s: reference %s not updated: %s", job.case.name, reference, exc)
    return updates


def _sections(runs: Sequence[CaseRun]) -> dict[str, Comparison | Sequence[Check]]:
    """The report's sections: each run's comparison (its plots) and, apart, its other checks."""
    sections: dict[str, Comparison | Sequence[Check]] = {}
    for run in runs:
        compared = {c.name for c in run.comparison.checks()} if run.comparison is not None else set()
        others = [c for c in run.checks if c.name not in compared]
        sections[f"{run.name}: {'passed' if run.passed else 'FAILED'}"] = others
        if run.comparison is not None:
            sections[f"{run.name}: signals against {Path(run.comparison.reference).name}"] = run.comparison
    return sections


# ------------------------------------------------------------------------------------------------------- locally

def _local(job: _Job, limit: float | None, judged: Callable[[_Job, dict[str, Any], float], None],
           live: list[subprocess.Popen[bytes]]) -> None:
    """Run `job` in a worker process (listed in `live` while it runs), stopped at `limit` s; then judge it."""
    job.out.parent.mkdir(parents=True, exist_ok=True)
    spec = job.out.parent / f"{job.mode}.job.json"
    spec.write_text(json.dumps(job.spec(), indent=2, default=str) + "\n")
    log_path = job.out.parent / f"{job.mode}.log"
    started = time.perf_counter()
    proc = spawn([sys.executable, "-m", "federation.regression.worker", str(spec)], log_path)
    live.append(proc)
    try:
        proc.wait(limit)
        outcome = _outcome(job.out, log_path, proc.returncode)
    except subprocess.TimeoutExpired:
        stop_all([proc], grace=STOP_GRACE)
        outcome = _timed_out(job.out, limit)
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C) while waiting: no run outlives the suite
            stop_all([proc], grace=STOP_GRACE)
        live.remove(proc)
    judged(job, outcome, time.perf_counter() - started)


def _record(run_dir: Path) -> dict[str, Any]:
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _outcome(run_dir: Path, log_path: Path, code: int | None) -> dict[str, Any]:
    """How a worker's run ended, by the run.json it wrote; by its log when it wrote none (it died)."""
    info = _record(run_dir)
    if info.get("status"):
        return {"status": str(info["status"]), "error": info.get("error"),
                "time": info.get("last_time_s") if info["status"] != "completed" else None}
    try:
        tail = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()][-5:]
    except OSError:
        tail = []
    return {"status": "failed", "error": f"the run's process ended with code {code} and wrote no run.json"
                                         + (f": {' | '.join(tail)}" if tail else "")}


def _timed_out(run_dir: Path, limit: float | None) -> dict[str, Any]:
    info = _record(run_dir)
    reached = info.get("last_time_s")
    where = f" (stopped at t={reached:g} s of the simulation)" if isinstance(reached, (int, float)) else ""
    return {"status": "timed out", "error": f"stopped after {limit:g} s{where}", "time": reached}


# ---------------------------------------------------------------------------------------------------------- Ray

def _on_ray(todo: Sequence[_Job], limits: dict[int, float | None], address: str | None,
            judged: Callable[[_Job, dict[str, Any], float], None]) -> None:
    """Each job a Ray task (one CPU), cancelled at its limit. An embedded or grpc run loads every site's models,
    so its task goes only to a node holding all its scenario's sites (as a sweep's runs do); with none, the case
    fails saying so. A ray run's hosts are placed on their own sites' nodes. No more tasks are in flight than
    the cluster has CPUs, so that a run's time limit counts its run, not its wait in Ray's queue."""
    import ray

    from federation.regression.worker import run_job
    from federation.runtime.ray import PlacementError, check_placement, in_ray_task, init_ray, pinned_to_every_site

    sites = {id(job): _sites(job.case.scenario) for job in todo}
    init_ray(address, sorted({site for found in sites.values() for site in found}))
    task = ray.remote(in_ray_task)
    waiting: list[tuple[_Job, dict[str, float]]] = []
    for job in todo:
        job.out.parent.mkdir(parents=True, exist_ok=True)
        resources = pinned_to_every_site(sites[id(job)])
        try:
            if job.mode == "ray":
                check_placement(sites[id(job)])
            elif resources is None:
                raise PlacementError(f"no Ray node holds every site of {job.case.scenario.name} "
                                     f"({', '.join(sites[id(job)])}): its {job.mode} run would load every owner's "
                                     "models on one node; give the case `modes: [ray]`")
        except PlacementError as exc:
            judged(job, {"status": "failed", "error": str(exc)}, 0.0)
            continue
        waiting.append((job, resources or {}))
    capacity = max(1, int(ray.cluster_resources().get("CPU", 1)))
    pending: dict[Any, tuple[_Job, float]] = {}
    while waiting or pending:
        while waiting and len(pending) < capacity:
            job, resources = waiting.pop(0)
            ref = task.options(num_cpus=1, max_retries=0, resources=resources).remote(run_job, job.spec())
            pending[ref] = (job, time.perf_counter())
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
        for ref in ready:
            job, started = pending.pop(ref)
            try:
                outcome = ray.get(ref)
                outcome = {**_outcome(job.out, Path(os.devnull), None), **outcome} if outcome["status"] != "completed" \
                    else outcome
            except Exception as exc:  # the task itself died (node lost, worker killed)
                lines = [ln for ln in str(exc).splitlines() if ln.strip()]
                outcome = {"status": "failed", "error": lines[-1].strip() if lines else repr(exc)}
            judged(job, outcome, time.perf_counter() - started)
        now = time.perf_counter()
        for ref, (job, started) in list(pending.items()):
            limit = limits[id(job)]
            if limit is not None and now - started > limit:
                ray.cancel(ref, force=True)
                pending.pop(ref)
                judged(job, _timed_out(job.out, limit), now - started)


def _sites(scenario: Path) -> list[str]:
    """The scenario's sites, read without loading any model ([] when it cannot be read: its run says why)."""
    from federation.names import COORDINATOR_SITE
    from federation.scenario import load_scenario

    try:
        return load_scenario(scenario, site=COORDINATOR_SITE, run_code=False).sites()
    except Exception:
        return []
