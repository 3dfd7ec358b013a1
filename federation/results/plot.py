"""results.png: one panel per federate from a results.csv.

Names are text as written: a `$` in a federation or variable name is not matplotlib's math markup."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from federation.errors import RunFailure


def _scales(series: list[tuple[float, ...]]) -> list[list[int]]:
    """Group series whose magnitudes are within 10x, so each group gets its own y axis."""
    groups: list[tuple[float, list[int]]] = []
    for i, values in enumerate(series):
        finite = [abs(v) for v in values if math.isfinite(v)]
        mag = max(finite, default=0.0)
        for ref, members in groups:
            if (ref == mag == 0.0) or (ref > 0 and mag > 0 and 0.1 <= mag / ref <= 10):
                members.append(i)
                break
        else:
            groups.append((mag, [i]))
    return [members for _, members in groups]


class NothingToPlot(RunFailure, ValueError):
    """results.csv holds no recorded variable, or no row."""


def plot_results(csv_path: Path, png_path: Path, title: str = "") -> None:
    """Draw png_path from csv_path; raise NothingToPlot, saying why, when it holds nothing to draw."""
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = [[float(x) for x in r] for r in reader if r]
    if len(header) < 2:
        raise NothingToPlot("nothing was recorded (results.csv has no column but time)")
    if not rows:
        raise NothingToPlot("results.csv holds no row")
    import matplotlib  # here: an installation where it cannot load still records runs

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cols = list(zip(*rows))
    hours = [t / 3600.0 for t in cols[0]]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(header[1:], start=1):
        groups.setdefault(name.split(".", 1)[0], []).append(i)
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2.6 * len(groups)), sharex=True, squeeze=False)
    for ax, (fed, idx) in zip(axes[:, 0], groups.items()):
        lines = []
        for k, scale in enumerate(_scales([cols[i] for i in idx])):
            target = ax if k == 0 else ax.twinx()
            if k > 1:
                target.spines["right"].set_position(("axes", 1 + 0.09 * (k - 1)))
            for j in scale:
                i = idx[j]
                lines += target.plot(hours, cols[i], label=header[i].split(".", 1)[1], linewidth=0.8,
                                     color=f"C{j}")
        ax.set_title(fed, fontsize=10, loc="left", parse_math=False)
        legend = ax.legend(handles=lines, loc="upper right", fontsize=8)
        for text in legend.get_texts():
            text.set_parse_math(False)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("simulated time [h]")
    if title:
        fig.suptitle(title, parse_math=False)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
