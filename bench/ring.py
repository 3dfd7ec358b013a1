"""N node FMUs in a ring: embedded-runtime cost per step against plain fmpy stepping and mosaik, in one run.

Usage: python bench/ring.py [--n 8] [--steps 2000] [--fmi 2] [--reps 3]
It also times the ring through our adapter's model calls alone, to split ours into model calls and orchestration.
Prints ONE line; compare the ratios (same process, same machine state, interleaved repetitions, medians).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters import native  # noqa: E402
from bench.common import (Workdir, median, adapter_ring, direct_ring, embedded_per_step, interleaved_samples, last_recorded,  # noqa: E402
                          mosaik_available, peer_per_step, timed_embedded, write_ring)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=8, help="federates in the ring (default 8)")
    ap.add_argument("--steps", type=int, default=2000, help="communication steps (default 2000)")
    ap.add_argument("--fmi", choices=("2", "3"), default="2", help="FMI version of the node FMU (default 2)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions, median taken (default 3)")
    args = ap.parse_args(argv)
    n, steps, fmi = args.n, args.steps, args.fmi
    short = max(1, steps // 10)  # the short run's time is setup + `short` steps; subtracting it removes setup

    with Workdir() as work:
        # correctness first: the federation and the plain loop compute the same ring (y = u + 1, Jacobi)
        _, result = timed_embedded(write_ring(work, n, steps, fmi), work / "check")
        ours_y = last_recorded(work / "check")
        _, direct_y = direct_ring(n, steps, fmi)
        _, adapter_y = adapter_ring(n, steps, fmi)
        agree = ("yes" if ours_y == direct_y == adapter_y
                 else f"NO(ours={ours_y!r},direct={direct_y!r},adapter={adapter_y!r})")

        use_mosaik = mosaik_available()
        measures: dict[str, Callable[[], float | None]] = {
            "ours": lambda: embedded_per_step(work, n, steps, short, fmi),
            "direct": lambda: direct_ring(n, steps, fmi)[0],
            "adapter": lambda: adapter_ring(n, steps, fmi)[0],
        }
        if use_mosaik:
            measures["mosaik"] = lambda: peer_per_step("mosaik_ring.py", str(n), str(steps), "python")
        samples = interleaved_samples(args.reps, measures)

    med = {k: (median(v) if v else None) for k, v in samples.items()}
    ours, direct, adapter, mosaik = med["ours"], med["direct"], med["adapter"], med.get("mosaik")
    assert ours is not None and direct is not None and adapter is not None
    # The plain fmpy loop runs at 55 or at 100 µs per step from one instantiation to the next (ours
    # does not): best against best is the conservative ratio, the one the target is judged on.
    best_ratio = min(samples["ours"]) / min(samples["direct"])
    fields = [
        f"ring n={n} steps={steps} fmi={fmi} reps={args.reps} native_step={'yes' if native.available() else 'no'}",
        f"ours_us_per_step={ours * 1e6:.0f}",
        f"ours_us_per_fed_step={ours * 1e6 / n:.1f}",
        f"direct_fmpy_us_per_step={direct * 1e6:.0f}",
        f"ours/direct={ours / direct:.2f}x",
        f"overhead={(ours / direct - 1) * 100:+.0f}%",
        f"best_ours/best_direct={best_ratio:.2f}x",
        # where ours goes: the adapter's model calls alone, and the rest (RTI, protocol, recorder)
        f"adapter_calls_us_per_fed_step={adapter * 1e6 / n:.1f}",
        f"orchestration_us_per_fed_step={(ours - adapter) * 1e6 / n:.1f}",
        f"orchestration_budget_at_1.25x_us={(1.25 * direct - adapter) * 1e6 / n:.1f}",
    ]
    if mosaik is not None:
        fields += [f"mosaik_python_us_per_step={mosaik * 1e6:.0f}", f"mosaik/ours={mosaik / ours:.2f}x"]
    else:
        fields.append("mosaik=n/a")
    fields.append(f"results_agree={agree}")
    print(" ".join(fields), flush=True)
    return 0 if agree == "yes" else 1


if __name__ == "__main__":
    sys.exit(main())
