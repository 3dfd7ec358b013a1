"""Timing helpers shared by the benchmarks: embedded runs with setup excluded, the direct-fmpy baseline, peer harnesses.

Figures are meant to be compared as RATIOS within one invocation (the machines are small and shared).
"""

from __future__ import annotations

import gc
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/ring.py` from anywhere
    sys.path.insert(0, str(REPO))

from bench.ring_scenario import node_fmu, write_ring  # noqa: E402


def peer_bench_dir() -> Path:
    """shared/bench beside the repository (…/main -> …/shared/bench), or $FEDERATION_PEER_BENCH."""
    env = os.environ.get("FEDERATION_PEER_BENCH")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "bench"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


class Workdir:
    """A temporary directory for scenarios and run outputs, removed on exit."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="federation-bench-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def timed_embedded(scenario_path: Path, out_dir: Path) -> tuple[float, object]:
    """Wall time of one run_embedded call (scenario loading is outside the timing; plotting off)."""
    from federation.runtime.embedded import run_embedded
    from federation.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    shutil.rmtree(out_dir, ignore_errors=True)
    gc.collect()  # a full collection landing inside one run of a pair would swamp the difference
    t0 = time.perf_counter()
    result = run_embedded(scenario, out_dir, plot=False)
    wall = time.perf_counter() - t0
    if result.status != "completed":
        raise RuntimeError(f"{scenario_path.name}: run {result.status}: {result.error}")
    return wall, result


def embedded_timing(work: Path, n: int, steps: int, short: int, fmi: str, topology: str = "ring",
                    pairs: int = 1) -> tuple[float, float]:
    """(seconds per whole-federation step, seconds of setup), from `pairs` runs of `steps` and of `short` steps.

    per step = (T(steps) - T(short)) / (steps - short): constant costs (instantiation, RTI joins, files) cancel.
    """
    long_path = write_ring(work, n, steps, fmi, topology=topology)
    short_path = write_ring(work, n, short, fmi, topology=topology)
    t_short = t_long = 0.0
    for _ in range(pairs):
        t_short += timed_embedded(short_path, work / "out_short")[0]
        t_long += timed_embedded(long_path, work / "out_long")[0]
    per_step = (t_long - t_short) / pairs / (steps - short)
    return per_step, t_short / pairs - short * per_step


def embedded_per_step(work: Path, n: int, steps: int, short: int, fmi: str, topology: str = "ring") -> float:
    """Seconds per whole-federation step, setup excluded (see embedded_timing)."""
    return embedded_timing(work, n, steps, short, fmi, topology)[0]


def last_recorded(out_dir: Path, column: str = "n0.y") -> float:
    import csv

    with open(out_dir / "results.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    return float(rows[-1][rows[0].index(column)])


def direct_ring(n: int, steps: int, fmi: str, step: float = 1.0) -> tuple[float, float]:
    """The same ring stepped with fmpy's public slave API in a plain Jacobi loop.

    Returns (seconds per whole-ring step, final y of node 0). Only the stepping loop is timed.
    """
    import fmpy

    path = node_fmu(fmi)
    md = fmpy.read_model_description(str(path))
    unzip = fmpy.extract(str(path))
    try:
        vr = {v.name: v.valueReference for v in md.modelVariables}
        u_vr, y_vr, tau_vr = vr["u"], vr["y"], vr["tau"]
        assert md.coSimulation is not None
        common = dict(guid=md.guid, unzipDirectory=unzip, modelIdentifier=md.coSimulation.modelIdentifier)
        fmi3 = int(fmi) == 3
        if fmi3:
            from fmpy.fmi3 import FMU3Slave as Slave
        else:
            from fmpy.fmi2 import FMU2Slave as Slave  # type: ignore[assignment]
        slaves = []
        for i in range(n):
            s = Slave(instanceName=f"n{i}", **common)
            s.instantiate()
            set_real, get_real = (s.setFloat64, s.getFloat64) if fmi3 else (s.setReal, s.getReal)
            set_real([tau_vr], [0.0])
            if fmi3:
                s.enterInitializationMode(startTime=0.0, stopTime=steps * step)
            else:
                s.setupExperiment(startTime=0.0, stopTime=steps * step)
                s.enterInitializationMode()
            s.exitInitializationMode()
            slaves.append((s, set_real, get_real))
        ys = [get_real([y_vr])[0] for _, _, get_real in slaves]
        t0 = time.perf_counter()
        for k in range(steps):
            t = k * step
            prev = ys[:]
            for i, (s, set_real, get_real) in enumerate(slaves):
                set_real([u_vr], [prev[i - 1]])
                s.doStep(currentCommunicationPoint=t, communicationStepSize=step)
                ys[i] = get_real([y_vr])[0]
        wall = time.perf_counter() - t0
        for s, _, _ in slaves:
            s.terminate()
            s.freeInstance()
        return wall / steps, ys[0]
    finally:
        shutil.rmtree(unzip, ignore_errors=True)


def adapter_ring(n: int, steps: int, fmi: str, step: float = 1.0) -> tuple[float, float]:
    """The same ring through our FMU adapter's own model calls only, no RTI and no protocol.

    Returns (seconds per whole-ring step, final y of node 0): the model side of a
    federate-step (preallocated ctypes calls), so that the rest of ours is orchestration.
    """
    from adapters.fmu.federate import FMUFederate
    from federation.coupling import Clock, Wiring
    from federation.rti.time import to_ticks

    h = to_ticks(step)
    clock = Clock(0, steps * h, h)
    feds = [FMUFederate(f"n{i}", "s", node_fmu(fmi), ["y"], clock,
                        Wiring(attributes={(f"n{(i - 1) % n}", "y"): ["u"]}), {"tau": 0.0}) for i in range(n)]
    try:
        ys = [fed.initial_outputs()[0] for fed in feds]
        t0 = time.perf_counter()
        for k in range(steps):
            t = k * h
            prev = ys[:]
            for i, fed in enumerate(feds):
                fed.changed = {"u": prev[i - 1]}
                ys[i] = fed.step(t, h)[0]
        wall = time.perf_counter() - t0
    finally:
        for fed in feds:
            fed.close()
    return wall / steps, ys[0]


def mosaik_available() -> bool:
    return importlib.util.find_spec("mosaik") is not None and importlib.util.find_spec("mosaik_api_v3") is not None


_US = re.compile(r"us_per_step=([0-9.]+)")


def peer_per_step(script: str, *args: str) -> float | None:
    """Run a peer harness (python shared/bench/<script> ARGS) and return its us_per_step in seconds, None if n/a."""
    path = peer_bench_dir() / script
    if not path.is_file():
        return None
    res = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, timeout=1800)
    match = _US.search(res.stdout)
    if res.returncode != 0 or match is None:
        sys.stderr.write(f"{script} failed (rc={res.returncode}):\n{res.stderr[-2000:]}\n")
        return None
    return float(match.group(1)) * 1e-6


def interleaved_samples(reps: int, measures: Mapping[str, Callable[[], float | None]]) -> dict[str, list[float]]:
    """Run every measurement `reps` times, interleaved (a, b, c, a, b, c, ...); every sample, by measure."""
    got: dict[str, list[float]] = {k: [] for k in measures}
    for _ in range(reps):
        for name, fn in measures.items():
            v = fn()
            if v is not None:
                got[name].append(v)
    return got


def interleaved(reps: int, measures: Mapping[str, Callable[[], float | None]]) -> dict[str, float | None]:
    """Like interleaved_samples, but the median of each measure."""
    return {k: (median(v) if v else None) for k, v in interleaved_samples(reps, measures).items()}
