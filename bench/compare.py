"""compare benchmark: two 1,000,000-row, 20-column result CSVs (one slightly perturbed, with one spike).

Prints the wall time (and CPU time: this machine is shared) of `compare` (reading both files and comparing every signal in its tube, with a time
tolerance of 5 samples), the part of it spent comparing, and the ratio to reading both files with numpy
alone (np.loadtxt). The files are generated once into --dir (kept between runs) at 17 significant digits,
as long as the recorder's repr() of computed values.
Usage: .venv/bin/python bench/compare.py [--rows 1000000] [--cols 20] [--dir /tmp/federation-bench-compare]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from federation import Tolerance, Tolerances, compare  # noqa: E402
from federation.comparison import read_table  # noqa: E402


def generate(folder: Path, rows: int, cols: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ref, res = folder / f"reference-{rows}x{cols}.csv", folder / f"results-{rows}x{cols}.csv"
    if ref.exists() and res.exists():
        return ref, res
    rng = np.random.default_rng(0)
    t = np.arange(rows) * 0.01
    data = np.column_stack([t] + [np.sin(t / (10.0 + k)) * (k + 1) + (t > 5000.0 + k) for k in range(cols)])
    header = "time," + ",".join(f"site.var{k}" for k in range(cols))
    np.savetxt(ref, data, delimiter=",", fmt="%.17g", header=header, comments="")
    data[:, 1:] *= 1 + 1e-6 * rng.standard_normal((rows, cols))  # slightly perturbed
    data[rows // 2, 3] += 1.0  # and one spike
    np.savetxt(res, data, delimiter=",", fmt="%.17g", header=header, comments="")
    return ref, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/federation-bench-compare"))
    args = ap.parse_args()
    ref, res = generate(args.dir, args.rows, args.cols)
    tolerances = Tolerances(Tolerance(range_rtol=1e-3, ttol=0.05))

    start, cpu = time.perf_counter(), time.process_time()
    tables = read_table(res, "results"), read_table(ref, "reference")
    read = time.perf_counter() - start
    result = compare(*tables, tolerances=tolerances)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    failed = [s.name for s in result.signals if not s.passed]

    start = time.perf_counter()
    for path in (res, ref):
        np.loadtxt(path, delimiter=",", skiprows=1)
    numpy_read = time.perf_counter() - start

    size = (ref.stat().st_size + res.stat().st_size) / 1e6
    print(f"compare {args.rows:,} rows x {args.cols} columns, two files of {size:.0f} MB: {total:.2f} s "
          f"(reading {read:.2f} s, comparing {total - read:.2f} s; CPU {cpu:.2f} s); failing: {', '.join(failed) or 'none'}")
    print(f"reading both with numpy.loadtxt: {numpy_read:.2f} s; compare / numpy read = {total / numpy_read:.2f}x "
          f"(target: compare < 5 s)")


if __name__ == "__main__":
    main()
