"""A Model Exchange federate's cost per communication step against fmpy's own ME loop per output interval.

Usage: python bench/model_exchange.py [--model bounce] [--fmi 2] [--solver CVode] [--steps 5000] [--step 0.01] [--reps 3]
The FMU is one of the conformance suite's (tests/conformance/cfmus/exchange.c, built here with gcc); the bouncing
ball runs elastic (e = 1), so it bounces (a state event) every 0.9 s for the whole run. Both sides run the same
FMU with the same solver, tolerance, output interval and stop time:

- ours: the federation embedded, one ME federate: the federate's step (inputs, integration with its events,
  outputs read), the figure the target is judged on; and, for the record, the whole federation per step (the
  time from its first step to its last: RTI, protocol and recorder included; start-up excluded);
- fmpy: fmpy.simulate_fmu(fmi_type='ModelExchange', record_events=False); the time from the end of its first
  output interval to the end of its last (its step_finished callback), per output interval.

Prints ONE line with the medians over interleaved repetitions and their ratios (target: ours/fmpy <= 1.3x).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import fmpy  # noqa: E402
import yaml  # noqa: E402

from bench.common import Workdir, interleaved_samples, median  # noqa: E402

PARAMETERS = {"bounce": {"e": 1.0}, "timer": {}, "stepper": {}}


def ours(fmu: Path, work: Path, model: str, solver: str, stop: float, step: float) -> tuple[float, float, float]:
    """(seconds per step of the ME federate, seconds per step of the whole federation, first output at the stop)."""
    from adapters.fmu.exchange import ModelExchangeFederate
    from federation.runtime.embedded import run_embedded
    from federation.scenario import load_scenario

    path = work / "scenario.yaml"
    path.write_text(yaml.safe_dump({"federation": "me-bench", "time": {"start": 0.0, "stop": stop, "step": step},
                                    "federates": {"m": {"fmu": str(fmu), "site": "lab", "solver": solver,
                                                        "parameters": PARAMETERS[model]}}}))
    stamps: list[float] = []
    inside = [0.0]
    original = ModelExchangeFederate.step

    def timed(self: ModelExchangeFederate, t: int, h: int) -> Any:
        start = time.perf_counter()
        stamps.append(start)
        outputs = original(self, t, h)
        inside[0] += time.perf_counter() - start
        return outputs

    ModelExchangeFederate.step = timed  # type: ignore[method-assign]
    try:
        result = run_embedded(load_scenario(path), work / "out", plot=False)
    finally:
        ModelExchangeFederate.step = original  # type: ignore[method-assign]
    if result.status != "completed":
        raise RuntimeError(f"run {result.status}: {result.error}")
    with open(work / "out" / "results.csv") as fh:
        last = fh.read().splitlines()[-1].split(",")
    return inside[0] / len(stamps), (stamps[-1] - stamps[0]) / (len(stamps) - 1), float(last[1])


def fmpys(fmu: Path, model: str, solver: str, stop: float, step: float) -> tuple[float, float]:
    """(seconds per output interval of fmpy's ME loop, the first output at the stop time)."""
    stamps: list[tuple[float, float]] = []

    def finished(t: float, recorder: Any) -> bool:
        stamps.append((t, time.perf_counter()))
        return True

    result = fmpy.simulate_fmu(str(fmu), fmi_type="ModelExchange", solver=solver, output_interval=step,
                               stop_time=stop, start_values=PARAMETERS[model], record_events=False,
                               step_size=step,  # Euler: fmpy checks it divides the output interval, then steps by that
                               step_finished=finished)
    (t0, w0), (t1, w1) = stamps[0], stamps[-1]
    return (w1 - w0) / round((t1 - t0) / step), float(result[result.dtype.names[1]][-1])


def main(argv: list[str] | None = None) -> int:
    from conformance.exchange_fmus import MODELS, build_exchange_fmu

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=list(MODELS), default="bounce")
    ap.add_argument("--fmi", choices=("2", "3"), default="2")
    ap.add_argument("--solver", choices=("CVode", "Euler"), default="CVode")
    ap.add_argument("--steps", type=int, default=5000, help="communication steps (default 5000)")
    ap.add_argument("--step", type=float, default=0.01, help="communication step = output interval (default 0.01 s)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions, median taken (default 3)")
    args = ap.parse_args(argv)
    stop = args.steps * args.step
    with Workdir() as work:
        fmu = build_exchange_fmu(args.model, int(args.fmi), work / "fmu")
        finals: dict[str, float] = {}
        runs: list[float] = []

        def run_ours() -> float:
            per_step, per_run_step, finals["ours"] = ours(fmu, work, args.model, args.solver, stop, args.step)
            runs.append(per_run_step)
            return per_step

        def run_fmpy() -> float:
            per_interval, finals["fmpy"] = fmpys(fmu, args.model, args.solver, stop, args.step)
            return per_interval

        samples = interleaved_samples(args.reps, {"ours": run_ours, "fmpy": run_fmpy})
    us, them, run = median(samples["ours"]), median(samples["fmpy"]), median(runs)
    agree = finals["ours"] == finals["fmpy"]
    print(" ".join([
        f"model_exchange model={args.model} fmi={args.fmi} solver={args.solver} steps={args.steps} step={args.step}"
        f" reps={args.reps}",
        f"ours_step_us={us * 1e6:.1f}",
        f"fmpy_us_per_interval={them * 1e6:.1f}",
        f"ours/fmpy={us / them:.2f}x",
        f"best_ours/best_fmpy={min(samples['ours']) / min(samples['fmpy']):.2f}x",
        f"whole_federation_us_per_step={run * 1e6:.1f}",
        f"whole/fmpy={run / them:.2f}x",
        f"results_agree={'yes' if agree else 'NO'}",
    ]), flush=True)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
