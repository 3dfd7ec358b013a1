"""results.png: one panel per federate from a results.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_results(csv_path: Path, png_path: Path, title: str = "") -> None:
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [[float(x) for x in r] for r in reader if r]
    if not rows:
        return
    cols = list(zip(*rows))
    hours = [t / 3600.0 for t in cols[0]]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(header[1:], start=1):
        groups.setdefault(name.split(".", 1)[0], []).append(i)
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2.6 * len(groups)), sharex=True, squeeze=False)
    for ax, (fed, idx) in zip(axes[:, 0], groups.items()):
        for i in idx:
            ax.plot(hours, cols[i], label=header[i].split(".", 1)[1], linewidth=0.8)
        ax.set_title(fed, fontsize=10, loc="left")
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("simulated time [h]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
