"""Sweep benchmark: 32 short flagship runs, sequential (embedded, one process) vs --mode ray.

Prints two lines:
  sweep ...    wall time of the 32-run grid each way and the speedup (Ray's start-up excluded,
               and included as a second figure); Ray is started locally (all sites on this node,
               so each run executes embedded inside one Ray task).
  overhead ... one 1-minute flagship run: `run --mode ray` (hosts as Ray actors, data over
               gRPC; warm actors) and a one-run ray sweep, each minus the embedded run.
Usage: .venv/bin/python bench/sweep.py [--stop 3600] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from federation.runtime.embedded import run_embedded  # noqa: E402
from federation.runtime.ray import init_ray, run_ray, shutdown_site_actors  # noqa: E402
from federation.sweeps import expand, parse_param, run_sweep  # noqa: E402
from federation.scenario import load_scenario  # noqa: E402

FLAGSHIP = REPO / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
GRID = ["furnace.T_set=1100,1200,1300,1400", "vehicle.n_ev=50,100,150,200", "grid.H=4,5"]  # 32 runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stop", type=float, default=3600.0)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    sys.setswitchinterval(0.0002)
    import ray

    specs = expand([parse_param(p) for p in GRID])
    base = {"time.stop": args.stop}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        init_ray(None, load_scenario(FLAGSHIP).sites(), num_cpus=os.cpu_count() or 2)
        # start-up = Ray itself + one tiny sweep that starts the workers and imports the adapters
        run_sweep(FLAGSHIP, expand([parse_param("grid.H=4,5")]), work / "warm-sweep", {"time.stop": 60.0}, mode="ray")
        t_init = time.perf_counter() - t
        # interleaved, best of --reps: the machine is small and shared
        seqs, rays = [], []
        for i in range(args.reps):
            t = time.perf_counter()
            seq = run_sweep(FLAGSHIP, specs, work / "embedded", base, mode="embedded", force=True)
            seqs.append(time.perf_counter() - t)
            t = time.perf_counter()
            par = run_sweep(FLAGSHIP, specs, work / "ray", base, mode="ray", force=True)
            rays.append(time.perf_counter() - t)
        t_seq, t_ray = min(seqs), min(rays)
        ok = sum(o.status == "completed" for o in seq) == sum(o.status == "completed" for o in par) == len(specs)
        same = all((work / "embedded" / s.name / "results.csv").read_bytes()
                   == (work / "ray" / s.name / "results.csv").read_bytes() for s in specs)
        print(f"sweep runs={len(specs)} stop={args.stop:g} cpus={os.cpu_count()} embedded_s={t_seq:.2f} "
              f"ray_s={t_ray:.2f} speedup={t_seq / t_ray:.2f}x reps={args.reps} (best of) ray_start_s={t_init:.2f} "
              f"speedup_incl_start={t_seq / (t_ray + t_init):.2f}x all_completed={'yes' if ok else 'no'} "
              f"results_identical={'yes' if same else 'no'}", flush=True)

        sc = load_scenario(FLAGSHIP, {"time.stop": 60.0})
        run_ray(sc, work / "warm", plot=False)  # first run starts the host actors
        emb, act, task = [], [], []
        for i in range(args.reps):
            t = time.perf_counter()
            run_embedded(sc, work / f"e{i}", plot=False)
            emb.append(time.perf_counter() - t)
            t = time.perf_counter()
            run_ray(sc, work / f"r{i}", plot=False)
            act.append(time.perf_counter() - t)
            t = time.perf_counter()
            run_sweep(FLAGSHIP, expand([parse_param(f"furnace.T_set={1200 + i}")]), work / f"s{i}",
                      {"time.stop": 60.0}, mode="ray")
            task.append(time.perf_counter() - t)
        e, a, k = (statistics.median(x) for x in (emb, act, task))
        print(f"overhead stop=60 reps={args.reps} embedded_s={e:.3f} ray_actors_s={a:.3f} "
              f"ray_actors_overhead_s={a - e:.3f} ray_sweep_task_s={k:.3f} ray_sweep_task_overhead_s={k - e:.3f} "
              f"first_run_actor_start_included=no", flush=True)
    shutdown_site_actors()
    ray.shutdown()


if __name__ == "__main__":
    main()
