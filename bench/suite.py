"""Suite benchmark: a 16-case suite of 1-hour flagship runs, `federation test --jobs 1` vs `--jobs 2`, in one run.

Every case runs the flagship (examples/grid_furnace_vehicle) for `--stop` s with its own furnace set point
and fleet size, checked against expectations (no reference: the figure is the runs' and the judging's). Each
way is timed `--reps` times (median), alternating, through the library's run_suite (what the CLI calls).
Prints one line: both wall times, and the speed-up (target >= 1.7x on 2 cores).

Usage: .venv/bin/python bench/suite.py [--stop 3600] [--reps 2] [--cases 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from federation.regression import load_suite, run_suite  # noqa: E402

FLAGSHIP = REPO / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def write_suite(folder: Path, cases: int, stop: float) -> Path:
    lines = ["name: bench", "defaults:", f"  overrides: {{time.stop: {stop!r}}}", "  expect:",
             "    - within: {variable: grid.f, min: 45, max: 55}",
             "    - final: {variable: furnace.T_chamber, value: 1250, atol: 500}", "cases:"]
    for i in range(cases):
        lines += [f"  case{i:02d}:", f"    scenario: {FLAGSHIP}",
                  f"    overrides: {{furnace.T_set: {1100 + 20 * i}, vehicle.n_ev: {50 + 10 * i}}}"]
    path = folder / "suite.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stop", type=float, default=3600.0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--cases", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        suite = load_suite(write_suite(work, args.cases, args.stop))
        times: dict[int, list[float]] = {1: [], 2: []}
        run_suite(suite, work / "warm", jobs=2)  # page in the interpreter, fmpy and the FMUs once
        for rep in range(args.reps):
            for jobs in (1, 2):
                result = run_suite(suite, work / f"j{jobs}-{rep}", jobs=jobs)
                if not result.passed:
                    raise SystemExit(f"--jobs {jobs}: {len(result.failed)} cases failed: "
                                     f"{[(r.name, [c.message for c in r.failures]) for r in result.failed]}")
                times[jobs].append(result.wall_time)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"suite {args.cases} cases x {args.stop:g} s flagship: --jobs 1 {one:.2f} s, --jobs 2 {two:.2f} s, "
          f"speed-up {one / two:.2f}x (median of {args.reps})")


if __name__ == "__main__":
    main()
