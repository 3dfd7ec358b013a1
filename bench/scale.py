"""Scaling of the embedded runtime: 10, 100 and 1000 node federates, 100 steps; cost per federate-step vs N = 10.

Usage: python bench/scale.py [--sizes 10 100 1000] [--steps 100] [--topology ring|chain] [--fmi 2] [--reps 3]
Setup is excluded by timing a 100-step and a 10-step run and taking the difference. Prints one line per N and a
summary line; the target is the largest N within 2x of the smallest per federate-step.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Workdir, direct_ring, embedded_timing, median  # noqa: E402

TARGET = 2.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--topology", choices=("ring", "chain"), default="ring")
    ap.add_argument("--fmi", choices=("2", "3"), default="2")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions, median taken (default 3)")
    args = ap.parse_args(argv)
    sizes, steps = sorted(args.sizes), args.steps
    short = max(1, steps // 10)

    ours: dict[int, list[float]] = {n: [] for n in sizes}
    setup: dict[int, list[float]] = {n: [] for n in sizes}
    direct: dict[int, list[float]] = {n: [] for n in sizes}
    with Workdir() as work:
        for _ in range(args.reps):  # interleaved: every N once per repetition
            for n in sizes:
                pairs = max(1, 100 // n)  # small N: average several run pairs so the difference is not noise
                per_step, t_setup = embedded_timing(work, n, steps, short, args.fmi, args.topology, pairs)
                ours[n].append(per_step / n)
                setup[n].append(t_setup)
                if args.topology == "ring":
                    direct[n].append(direct_ring(n, steps, args.fmi)[0] / n)

    base = median(ours[sizes[0]])
    for n in sizes:
        fed_step = median(ours[n])
        fields = [f"scale n={n} steps={steps} topology={args.topology} fmi={args.fmi} reps={args.reps}",
                  f"ours_us_per_fed_step={fed_step * 1e6:.1f}", f"vs_n{sizes[0]}={fed_step / base:.2f}x"]
        if direct[n]:
            d = median(direct[n])
            fields += [f"direct_fmpy_us_per_fed_step={d * 1e6:.1f}", f"ours/direct={fed_step / d:.2f}x"]
        fields.append(f"setup_s={median(setup[n]):.2f}")
        print(" ".join(fields), flush=True)
    worst = median(ours[sizes[-1]]) / base
    ok = worst <= TARGET
    print(f"scale target n={sizes[-1]} within {TARGET:.0f}x of n={sizes[0]}: {worst:.2f}x {'PASS' if ok else 'FAIL'}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
