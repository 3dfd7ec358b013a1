"""The ring in grpc mode (one host process per federate), direct and relay routing, against embedded mode and
HELICS, in one run.

Usage: python bench/grpc_ring.py [--sizes 2 4 8] [--steps 3000] [--reps 3] [--flagship-stop 21600]
Prints one line per ring size, then one line for the flagship (grpc wall time / embedded wall time, start-up
included), each with both routings: `direct` (hosts stream to each other, the default) and `relay` (every
value through the RTI).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, Workdir, embedded_per_step, interleaved, peer_per_step, write_ring  # noqa: E402

FLAGSHIP = REPO / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def cli_run(scenario: Path, out: Path, mode: str, *extra: str) -> float:
    """Wall time of the run itself, as `federation run` records it in run.json (process start-up included)."""
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "federation.cli", "run", str(scenario), "--mode", mode,
                           "--out", str(out), "--no-plot", *extra], capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{scenario.name} --mode {mode} failed:\n{proc.stderr[-2000:]}")
    return float(json.loads((out / "run.json").read_text())["wall_time_s"])


ROUTINGS = ("direct", "relay")


def grpc_per_step(work: Path, n: int, steps: int, short: int, routing: str) -> float:
    """Seconds per ring step in grpc mode; the difference of a long and a short run cancels start-up."""
    long_t = cli_run(write_ring(work, n, steps, "2"), work / "g_long", "grpc", "--routing", routing)
    short_t = cli_run(write_ring(work, n, short, "2"), work / "g_short", "grpc", "--routing", routing)
    return (long_t - short_t) / (steps - short)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--flagship-stop", type=float, default=21600.0, help="simulated seconds of the flagship run")
    args = ap.parse_args(argv)
    short = max(1, args.steps // 10)
    helics = importlib.util.find_spec("helics") is not None
    with Workdir() as work:
        for n in args.sizes:
            ring = write_ring(work, n, args.steps, "2")
            cli_run(ring, work / "e", "embedded")
            for r in ROUTINGS:
                cli_run(ring, work / r, "grpc", "--routing", r)
            identical = all(_same(work / "e", work / r) for r in ROUTINGS)
            measures: dict[str, Callable[[], float | None]] = {
                r: (lambda r=r: grpc_per_step(work, n, args.steps, short, r)) for r in ROUTINGS}  # type: ignore[misc]
            measures["embedded"] = lambda: embedded_per_step(work, n, args.steps, short, "2")
            if helics:
                measures["helics"] = lambda: peer_per_step("helics_ring.py", str(n), str(args.steps))
            med = interleaved(args.reps, measures)
            e, h = med["embedded"], med.get("helics")
            assert e is not None
            fields = [f"grpc-ring n={n} steps={args.steps} reps={args.reps}", f"embedded_us_per_step={e * 1e6:.0f}"]
            fields += _routing_fields(med, e, "us_per_step", 1e6, h)
            fields += [f"helics_us_per_step={h * 1e6:.0f}"] if h else ["helics=n/a"]
            fields.append(f"results_identical={'yes' if identical else 'NO'}")
            print(" ".join(fields), flush=True)
        stop = ["--stop", f"{args.flagship_stop:g}"]
        flag: dict[str, Callable[[], float | None]] = {
            r: (lambda r=r: cli_run(FLAGSHIP, work / f"f{r}", "grpc", "--routing", r, *stop)) for r in ROUTINGS}  # type: ignore[misc]
        flag["embedded"] = lambda: cli_run(FLAGSHIP, work / "fembedded", "embedded", *stop)
        walls = interleaved(args.reps, flag)
        e = walls["embedded"]
        assert e is not None
        fields = [f"grpc-flagship stop={args.flagship_stop:g}s reps={args.reps}", f"embedded_wall_s={e:.2f}"]
        fields += _routing_fields(walls, e, "wall_s", 1.0)
        identical = all(_same(work / "fembedded", work / f"f{r}") for r in ROUTINGS)
        print(" ".join(fields + [f"results_identical={'yes' if identical else 'NO'}"]), flush=True)
    return 0


def _routing_fields(med: dict[str, float | None], embedded: float, unit: str, scale: float,
                    helics: float | None = None) -> list[str]:
    """Each routing's figure, and its ratio to embedded mode (and to HELICS)."""
    fields = []
    for r in ROUTINGS:
        g = med[r]
        assert g is not None
        fields += [f"{r}_{unit}={g * scale:.{0 if scale > 1 else 2}f}", f"{r}/embedded={g / embedded:.1f}x"]
        fields += [f"{r}/helics={g / helics:.2f}x"] if helics else []
    return fields


def _same(a: Path, b: Path) -> bool:
    return (a / "results.csv").read_bytes() == (b / "results.csv").read_bytes()


if __name__ == "__main__":
    sys.exit(main())
