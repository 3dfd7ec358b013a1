"""The HTML report: a summary at the top, a table per section, then one plot per failing signal.

Plots are PNG files beside index.html (matplotlib, Agg): the result, the reference, the tube's bounds and the
samples out of the tube marked, over the whole span and zoomed on where the signal first left the tube.
Long signals are thinned for drawing by keeping each bucket's min and max, so a one-sample spike still shows.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np
from numpy.typing import NDArray

from .checks import Check
from .comparing import Comparison, SignalComparison, describe

Section = Union[Comparison, Sequence[Check]]
POINTS = 4000  # samples per drawn line at most
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:72em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.pass{color:#186318}.fail{color:#a40000;font-weight:bold}td.num{text-align:right}
img{max-width:100%;border:1px solid #ddd}code{background:#f6f6f6}"""


def write_report(out_dir: str | Path, sections: Mapping[str, Section], title: str = "Comparison report") -> Path:
    """Write out_dir/index.html (and a PNG per failing signal of each Comparison); return the page's path.

    `sections`: a heading -> a Comparison (its table, its missing and extra variables, then its failing
    signals' plots) or a list of Checks (a table only: a suite's expectations that need no reference)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary, body = [], []
    for index, (heading, section) in enumerate(sections.items()):
        checks = section.checks() if isinstance(section, Comparison) else list(section)
        failed = sum(not c.passed for c in checks)
        anchor = f"s{index}"
        summary.append(f"<tr><td><a href='#{anchor}'>{_e(heading)}</a></td><td class='num'>{len(checks)}</td>"
                       f"<td class='num'>{len(checks) - failed}</td><td class='num'>{failed}</td>"
                       f"<td>{_verdict(failed == 0)}</td></tr>")
        body.append(f"<h2 id='{anchor}'>{_e(heading)} {_verdict(failed == 0)}</h2>")
        if isinstance(section, Comparison):
            body.append(_comparison(section, out, f"{index:02d}-{_slug(heading)}"))
        else:
            body.append(_checks_table(checks))
    total = sum(1 for s in summary)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title><style>{STYLE}</style>"
            f"</head><body><h1>{_e(title)}</h1>"
            "<table><tr><th>section</th><th>checks</th><th>passed</th><th>failed</th><th></th></tr>"
            f"{''.join(summary)}</table>" + ("" if total else "<p>Nothing was compared.</p>") + "".join(body)
            + "</body></html>\n")
    index_path = out / "index.html"
    index_path.write_text(page, encoding="utf-8")
    return index_path


def _comparison(comparison: Comparison, out: Path, prefix: str) -> str:
    parts = [f"<p>results <code>{_e(comparison.results)}</code> against reference "
             f"<code>{_e(comparison.reference)}</code></p>",
             "<table><tr><th>signal</th><th></th><th>first out of tube (s)</th><th>max deviation</th>"
             "<th>at t (s)</th><th>RMSE</th><th>NRMSE</th><th>tolerance</th></tr>"]
    for s in comparison.signals:
        parts.append(f"<tr><td>{_e(s.label)}</td><td>{_verdict(s.passed)}</td>"
                     f"<td class='num'>{_num(s.first_failure)}</td><td class='num'>{_num(s.max_deviation)}</td>"
                     f"<td class='num'>{_num(s.max_deviation_time)}</td><td class='num'>{_num(s.rmse)}</td>"
                     f"<td class='num'>{_num(s.nrmse)}</td><td>{_e(describe(s.tolerance))}</td></tr>")
    for name in comparison.missing:
        parts.append(f"<tr><td>{_e(name)}</td><td class='fail'>MISSING</td>"
                     "<td colspan='6'>in the reference, not in the results</td></tr>")
    parts.append("</table>")
    if comparison.extra:
        parts.append(f"<p>In the results only (not compared): {_e(', '.join(comparison.extra))}</p>")
    for number, s in enumerate(comparison.failed):
        png = f"{prefix}-{number:03d}-{_slug(s.name)}.png"
        _plot(s, out / png)
        parts.append(f"<h3>{_e(s.label)}</h3><p>{_e(s.check().message)}</p><img src='{html.escape(png)}' "
                     f"alt='{_e(s.label)}: result, reference and tube'>")
    return "".join(parts)


def _checks_table(checks: Sequence[Check]) -> str:
    rows = "".join(f"<tr><td>{_e(c.name)}</td><td>{_verdict(c.passed)}</td><td class='num'>{_num(c.time)}</td>"
                   f"<td>{_e(c.message)}</td></tr>" for c in checks)
    return f"<table><tr><th>check</th><th></th><th>time (s)</th><th>message</th></tr>{rows}</table>"


def _plot(s: SignalComparison, path: Path) -> None:
    import matplotlib  # here: the comparison itself needs no plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times, values = s.compared_result()
    lower, upper = s.tube()
    ref_times, ref_values = s.reference
    bad = (values < lower) | (values > upper)
    zoom = _zoom(s, times)
    fig, axes = plt.subplots(1 if zoom is None else 2, 1, figsize=(10, 3.4 if zoom is None else 6.4), squeeze=False)
    for ax, window in zip(axes[:, 0], [None, zoom]):
        pick = slice(None) if window is None else slice(*np.searchsorted(times, window))
        rpick = slice(None) if window is None else slice(*np.searchsorted(ref_times, window))
        t, lo, up = times[pick], lower[pick], upper[pick]
        thin_t, thin_lo, thin_up = _thin(t, lo, up)
        ax.fill_between(thin_t, thin_lo, thin_up, color="tab:blue", alpha=0.15, label="tube", linewidth=0)
        for bound in (thin_lo, thin_up):  # a thin tube still shows
            ax.plot(thin_t, bound, color="tab:blue", linewidth=0.5, linestyle="--", alpha=0.6)
        ax.plot(*_thin(ref_times[rpick], ref_values[rpick]), color="tab:blue", linewidth=1, label="reference")
        ax.plot(*_thin(t, values[pick]), color="tab:orange", linewidth=1, label="result")
        marked = np.flatnonzero(bad[pick])
        if marked.size > POINTS:
            marked = marked[np.linspace(0, marked.size - 1, POINTS).astype(int)]
        ax.plot(t[marked], values[pick][marked], "x", color="tab:red", markersize=4, label="out of tube")
        if s.first_failure is not None:
            ax.axvline(s.first_failure, color="tab:red", linewidth=0.8, linestyle=":")
        ax.set_xlabel("time (s)")
        ax.set_title(s.label if window is None else f"around t={s.first_failure:g} s", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _zoom(s: SignalComparison, times: NDArray[np.float64]) -> tuple[float, float] | None:
    """A window around the first failure: 2% of the span, at least 20 samples and 4 time tolerances."""
    if s.first_failure is None or times.size < 50:
        return None
    span = float(times[-1] - times[0])
    i = int(np.searchsorted(times, s.first_failure))
    steps = float(times[min(i + 10, times.size - 1)] - times[max(i - 10, 0)]) / 2
    half = max(0.01 * span, steps, 4 * s.tolerance.ttol)
    return (s.first_failure - half, s.first_failure + half)


def _thin(t: NDArray[np.float64], *ys: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
    """At most about POINTS samples: each bucket's first, min and max (spikes survive)."""
    if t.size <= POINTS:
        return (t, *ys)
    edges = np.linspace(0, t.size, POINTS // 3 + 1).astype(int)
    keep = set(edges[:-1].tolist())
    for y in ys:
        for a, b in zip(edges[:-1], edges[1:]):
            if b > a:
                segment = y[a:b]
                keep.add(a + int(np.argmin(segment)))
                keep.add(a + int(np.argmax(segment)))
    index = np.array(sorted(keep))
    return (t[index], *(y[index] for y in ys))


def _verdict(passed: bool) -> str:
    return "<span class='pass'>PASS</span>" if passed else "<span class='fail'>FAIL</span>"


def _num(value: float | None) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6g}"


def _e(text: object) -> str:
    return html.escape(str(text))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60] or "signal"
