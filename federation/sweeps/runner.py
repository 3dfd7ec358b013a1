"""Ensembles: many independent federation executions of one scenario (grid sweep or Monte Carlo).

Each run gets its own folder (results.csv, run.json, params.json, metrics.json); the sweep
writes summary.csv with one row per run: its parameters, status, error and metrics (per
recorded column min/max/mean, plus the energy in J of every column whose unit is W).

Modes:
- embedded: runs one after the other in this process (the baseline).
- ray: runs in parallel as Ray tasks (one CPU each). When some node advertises the site of
  every site of the scenario (a locally started Ray does), a run executes embedded inside
  one task on such a node. Otherwise each task coordinates a distributed run whose hosts
  are pinned to their sites' nodes (see federation.runtime.ray).
Before any run starts, the scenario is validated with the first run's parameters (an unknown
federate or parameter stops the sweep); after that a failed run never stops the others. A run
whose folder already holds a completed run with identical inputs (see inputs: scenario file, model
files, parameters and overrides, tool versions) is reused unless force is set; any other runs (again),
and summary.csv says why.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from federation.kinds import StaleModules
from federation.runtime.modes import run_mode
from federation.sweeps.inputs import differences, forget_modules, input_digests
from federation.sweeps.params import RunSpec, SweepError
from federation.sweeps.summary import RunOutcome, metrics_of, units_of, write_summary

if TYPE_CHECKING:
    from federation.scenario import Scenario

log = logging.getLogger(__name__)
MODES = ("embedded", "ray")
SUMMARY = "summary.csv"


REUSED = "reused: identical inputs"


# ------------------------------------------------------------------------------------------------ the runs to make


# --------------------------------------------------------------------------------------------------------- metrics


# ------------------------------------------------------------------------------------------------------- one run

def _params_record(scenario_path: Path, params: Mapping[str, Any], base: Mapping[str, Any],
                   inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What params.json holds: the run's parameters and the digests of everything that determines its result."""
    record = {"scenario": str(scenario_path), "params": dict(params), "overrides": dict(base), "inputs": dict(inputs)}
    return json.loads(json.dumps(record, default=str))  # as it reads back from the file


def completed_before(run_dir: Path, record: Mapping[str, Any]) -> tuple[RunOutcome | None, str]:
    """The earlier outcome when run_dir holds a completed run with identical inputs (record: _params_record);
    else None and why the run is to be made again ('' when the folder holds no run)."""
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("wall_time_s", 0.0), (int, float)):
        return None, "the earlier run did not finish" if (run_dir / "params.json").exists() else ""
    if info.get("status") != "completed":
        return None, f"the earlier run {info.get('status') or 'did not complete'}"
    try:
        earlier = json.loads((run_dir / "params.json").read_text())
    except (OSError, ValueError):
        earlier = {}
    reasons = differences(earlier if isinstance(earlier, dict) else {}, record)
    if reasons:
        return None, "; ".join(reasons)
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        metrics = {}
    if not isinstance(metrics, dict):
        metrics = {}
    return RunOutcome(run_dir.name, dict(record["params"]), "completed", None,
                      float(info.get("wall_time_s", 0.0)), metrics, skipped=True, reason=REUSED), REUSED


def execute_run(scenario_path: str, params: Mapping[str, Any], base: Mapping[str, Any], run_dir: str,
                inputs: Mapping[str, Any], runtime: str = "embedded", plot: bool = False,
                grant_timeout: float | None = None, reason: str = "") -> RunOutcome:
    """One federation execution; never raises: a failure is an outcome with its reason.

    `inputs` are the sweep's input_digests, recorded in params.json; `reason` is why the run is made
    (completed_before), for the summary."""
    from federation.scenario import ScenarioError, load_scenario

    from federation.runtime.record import RunResult, write_run_json

    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    # An earlier run's outcome must not pass for this one's: were this run killed, it would be reused.
    for stale in ("run.json", "metrics.json"):
        (out / stale).unlink(missing_ok=True)
    record = _params_record(Path(scenario_path), params, base, inputs)
    (out / "params.json").write_text(json.dumps(record, indent=2) + "\n")
    name = out.name
    started = time.perf_counter()
    try:
        scenario = load_scenario(scenario_path, {**base, **params})
    except ScenarioError as exc:
        message = " ".join(str(exc).split())
        (out / "run.json").write_text(json.dumps({"status": "failed", "error": message}, indent=2) + "\n")
        return RunOutcome(name, dict(params), "failed", message, time.perf_counter() - started, reason=reason)
    if scenario.sha256() != inputs["scenario_sha256"]:  # edited since the sweep began: record what this run read
        record["inputs"]["scenario_sha256"] = scenario.sha256()
        (out / "params.json").write_text(json.dumps(record, indent=2) + "\n")
    error = None
    try:
        result = run_mode(runtime, scenario, out, plot=plot, grant_timeout=grant_timeout)
        status = result.status
    except Exception as exc:  # the run wrote run.json (status failed) already
        status, error = "failed", " ".join(str(exc).split()) or type(exc).__name__
        if not (out / "run.json").exists():
            write_run_json(scenario, RunResult(out, "failed", 0.0, error=error), runtime)
    metrics = metrics_of(out / "results.csv", units_of(scenario))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return RunOutcome(name, dict(params), status, error, time.perf_counter() - started, metrics, reason=reason)


# ----------------------------------------------------------------------------------------------------- the sweep

def check_specs(scenario_path: Path, specs: Sequence[RunSpec], base: Mapping[str, Any] | None = None) -> Scenario:
    """Before any run starts: refuse two runs that would share a folder, and validate the scenario with
    the first run's parameters (every run sets the same keys: an unknown federate or parameter, or a
    bad first value, raises ScenarioError). Returns that scenario. A later run's bad value fails that
    run alone, as any failed run does."""
    from federation.scenario import load_scenario

    seen: dict[str, RunSpec] = {}
    for spec in specs:
        other = seen.setdefault(spec.name, spec)
        if other is not spec:
            raise SweepError(f"two runs would share the folder {spec.name!r}: {other.params} and {spec.params}")
    return load_scenario(scenario_path, {**(base or {}), **(specs[0].params if specs else {})})


def run_sweep(
    scenario_path: Path,
    specs: Sequence[RunSpec],
    out_dir: Path,
    base: Mapping[str, Any] | None = None,
    mode: str = "embedded",
    force: bool = False,
    plot: bool = False,
    address: str | None = None,
    grant_timeout: float | None = None,
    on_done: Callable[[RunOutcome], None] | None = None,
    checked: Scenario | None = None,
) -> list[RunOutcome]:
    """Run every spec (reusing a completed run with identical inputs unless force); writes out_dir/summary.csv.

    Raises SweepError or ScenarioError (see check_specs) before any run starts; `checked` is what
    check_specs already returned for these specs, so that it is not done again."""
    if mode not in MODES:
        raise SweepError(f"unknown sweep mode {mode!r}; use {' or '.join(MODES)}")
    scenario_path, out_dir = scenario_path.resolve(), out_dir.resolve()
    base = dict(base or {})
    base_scenario = checked if checked is not None else check_specs(scenario_path, specs, base)
    try:
        inputs = input_digests(base_scenario)  # what every run shares, digested once
    except StaleModules as exc:  # this process imported an older version of a Python model: import it again
        log.info("Python model modules %s changed since they were imported; importing them again", exc.changed)
        forget_modules(exc.loaded)
        base_scenario = check_specs(scenario_path, specs, base)
        inputs = input_digests(base_scenario)
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, RunOutcome] = {}

    def done(outcome: RunOutcome) -> None:
        outcomes[outcome.name] = outcome
        if on_done is not None:
            on_done(outcome)

    todo: list[tuple[RunSpec, str]] = []
    for spec in specs:
        record = _params_record(scenario_path, spec.params, base, inputs)
        earlier, reason = completed_before(out_dir / spec.name, record)
        if force:
            todo.append((spec, "forced (--force)" if reason else ""))
        elif earlier is not None:
            done(earlier)
        else:
            todo.append((spec, reason))

    if mode == "embedded":
        for spec, reason in todo:
            done(execute_run(str(scenario_path), spec.params, base, str(out_dir / spec.name), inputs, "embedded",
                             plot, grant_timeout, reason))
    elif todo:
        _sweep_on_ray(scenario_path, todo, out_dir, base, base_scenario, inputs, plot, address, grant_timeout, done)
    ordered = [outcomes[s.name] for s in specs]
    write_summary(out_dir / SUMMARY, ordered)
    return ordered


def _sweep_on_ray(scenario_path: Path, todo: Sequence[tuple[RunSpec, str]], out_dir: Path, base: Mapping[str, Any],
                  scenario: Any, inputs: Mapping[str, Any], plot: bool, address: str | None,
                  grant_timeout: float | None, done: Callable[[RunOutcome], None]) -> None:
    import ray

    from federation.runtime.ray import check_placement, in_ray_task, init_ray, pinned_to_every_site

    sites = scenario.sites()
    init_ray(address, sites)
    check_placement(sites)
    resources = pinned_to_every_site(sites)
    # On a node that may run every site's federates: one embedded run per task there; else each task
    # coordinates a run whose hosts are pinned to their sites' nodes.
    runtime = "embedded" if resources is not None else "ray"
    task = ray.remote(in_ray_task).options(num_cpus=1, resources=resources or {}, max_retries=0)
    pending = {task.remote(execute_run, str(scenario_path), s.params, base, str(out_dir / s.name), inputs, runtime,
                           plot, grant_timeout, reason): (s, reason)
               for s, reason in todo}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in ready:
            spec, reason = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # the task itself died (node lost, worker killed)
                lines = [ln for ln in str(exc).splitlines() if ln.strip()]
                outcome = RunOutcome(spec.name, spec.params, "failed", lines[-1].strip() if lines else repr(exc),
                                     reason=reason)
            done(outcome)


