"""What mutual TLS costs the grpc-mode ring: `federation run RING --mode grpc` with and without `--insecure`, in one run.

Usage: python bench/tls_ring.py [--n 4] [--steps 1000] [--reps 3]
Prints one line: microseconds per ring step with TLS and without, and the overhead (target: at most +20%).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Workdir, interleaved, write_ring  # noqa: E402
from bench.grpc_ring import cli_run  # noqa: E402


def per_step(work: Path, n: int, steps: int, short: int, *extra: str) -> float:
    """Seconds per ring step; a long minus a short run cancels start-up (certificates included)."""
    tag = "plain" if extra else "tls"
    long_t = cli_run(write_ring(work, n, steps, "2"), work / f"{tag}_long", "grpc", *extra)
    short_t = cli_run(write_ring(work, n, short, "2"), work / f"{tag}_short", "grpc", *extra)
    return (long_t - short_t) / (steps - short)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    short = max(1, args.steps // 10)
    with Workdir() as work:
        med = interleaved(args.reps, {
            "tls": lambda: per_step(work, args.n, args.steps, short),
            "plain": lambda: per_step(work, args.n, args.steps, short, "--insecure"),
        })
        tls, plain = med["tls"], med["plain"]
        assert tls is not None and plain is not None
        identical = (work / "tls_long" / "results.csv").read_bytes() == (work / "plain_long" / "results.csv").read_bytes()
        overhead = tls / plain - 1
        print(f"tls-ring n={args.n} steps={args.steps} reps={args.reps} tls_us_per_step={tls * 1e6:.0f} "
              f"insecure_us_per_step={plain * 1e6:.0f} tls_overhead={overhead * 100:+.1f}% target<=+20% "
              f"{'met' if overhead <= 0.20 else 'MISSED'} results_identical={'yes' if identical else 'NO'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
