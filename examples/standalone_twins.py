"""Simulate each digital-twin FMU (FMI 3.0 build) standalone for 24 h and write CSV + PNG per twin."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from fmpy import simulate_fmu  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("standalone_twins")

TWINS: dict[str, tuple[dict[str, float], list[str]]] = {
    "grid": ({"P_furnace": 5e6, "P_ev": 1e6}, ["f", "v_pcc", "P_mech", "P_base_load", "agc_state"]),
    "furnace": ({"f_grid": 50.0, "curtail": 0.0}, ["P_el", "T_chamber", "T_charge"]),
    "vehicle": ({"f_grid": 50.0}, ["P_ev", "soc_mean", "n_plugged"]),
}


def ensure_built() -> None:
    """Build the FMUs if needed (incremental)."""
    sys.path.insert(0, str(REPO / "fmus"))
    import build  # type: ignore[import-not-found]

    build.build()


def simulate(name: str, out_dir: Path, step: float, output_interval: float) -> dict[str, float]:
    """Simulate one twin for 24 h and write <name>.csv and <name>.png; return summary statistics."""
    inputs, outputs = TWINS[name]
    fmu = REPO / "fmus" / "dist" / "fmi3" / f"{name}.fmu"
    # communication step = step; results are decimated to output_interval afterwards
    result = simulate_fmu(str(fmu), stop_time=86400.0, step_size=step, output_interval=step,
                          start_values=inputs, output=outputs)
    stride = max(1, int(round(output_interval / step)))
    result = result[::stride]
    names = list(result.dtype.names or ())
    np.savetxt(out_dir / f"{name}.csv", np.column_stack([result[n] for n in names]), delimiter=",",
               header=",".join(names), comments="", fmt="%.10g")
    fig, axes = plt.subplots(len(outputs), 1, sharex=True, figsize=(9, 2.0 * len(outputs)))
    hours = result["time"] / 3600.0
    for ax, out in zip(np.atleast_1d(axes), outputs):
        ax.plot(hours, result[out])
        ax.set_ylabel(out)
        ax.grid(True)
    np.atleast_1d(axes)[-1].set_xlabel("time of day (h)")
    fig.suptitle(f"{name} twin standalone, inputs {inputs}")
    fig.tight_layout()
    fig.savefig(out_dir / f"{name}.png", dpi=100)
    plt.close(fig)
    return {f"{out}_min": float(np.min(result[out])) for out in outputs} | \
           {f"{out}_max": float(np.max(result[out])) for out in outputs}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--step", type=float, default=1.0, help="communication step size (s)")
    parser.add_argument("--output-interval", type=float, default=60.0, help="CSV/plot sample interval (s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    ensure_built()
    for name in TWINS:
        log.info("simulating %s for 24 h", name)
        summary = simulate(name, args.out, args.step, args.output_interval)
        log.info("%s: %s", name, ", ".join(f"{k}={v:.6g}" for k, v in summary.items()))
    log.info("wrote CSV and PNG files to %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
