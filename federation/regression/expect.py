"""Expectations that need no reference, checked on a run's results: bounds, a final value, an event by a time.

Each gives one Check (federation.comparison), named for what it expects; a failing one says what was seen
and when (`time`: the first time it failed, in s, where there is one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from federation.comparison import Check

from federation.regression.suite import Bounds, Event, Expectation, Final

Signal = tuple[NDArray[np.float64], NDArray[np.float64]]


def check_expectations(expectations: Sequence[Expectation], signals: Mapping[str, Signal]) -> list[Check]:
    """One Check per expectation, on `signals` (name -> (times, values)): failing, naming it, when the
    variable is not among them."""
    checks = []
    for expectation in expectations:
        spec = expectation.check
        name = describe(spec)
        signal = signals.get(spec.variable)
        if signal is None:
            checks.append(Check(name, False, f"{spec.variable} is not in the results (recorded: "
                                             f"{', '.join(sorted(signals)) or 'nothing'})"))
            continue
        times, values = signal
        if isinstance(spec, Bounds):
            checks.append(_bounds(name, spec, times, values))
        elif isinstance(spec, Final):
            checks.append(_final(name, spec, times, values))
        else:
            checks.append(_event(name, spec, times, values))
    return checks


def describe(spec: Bounds | Final | Event) -> str:
    """The expectation in a few words: its check's (and JUnit testcase's) name."""
    if isinstance(spec, Bounds):
        low = "-inf" if spec.min is None else f"{spec.min:g}"
        high = "inf" if spec.max is None else f"{spec.max:g}"
        window = "" if spec.start is None and spec.end is None else \
            f" for t in [{'start' if spec.start is None else f'{spec.start:g}'}, {'end' if spec.end is None else f'{spec.end:g}'}] s"
        return f"expect {spec.variable} within [{low}, {high}]{window}"
    if isinstance(spec, Final):
        return f"expect {spec.variable} final {spec.value:g}"
    direction = {"up": " upward", "down": " downward", "either": ""}[spec.direction]
    after = "" if spec.after is None else f" after {spec.after:g} s and"
    return f"expect {spec.variable} crosses {spec.crosses:g}{direction}{after} before {spec.before:g} s"


def _bounds(name: str, spec: Bounds, times: NDArray[np.float64], values: NDArray[np.float64]) -> Check:
    inside = np.ones(len(times), dtype=bool)
    if spec.start is not None:
        inside &= times >= spec.start
    if spec.end is not None:
        inside &= times <= spec.end
    if not inside.any():
        return Check(name, False, f"{spec.variable}: no sample in the window (results span "
                                  f"{_span(times)})")
    t, y = times[inside], values[inside]
    below = y < spec.min if spec.min is not None else np.zeros(len(y), dtype=bool)
    above = y > spec.max if spec.max is not None else np.zeros(len(y), dtype=bool)
    bad = below | above | np.isnan(y)
    if not bad.any():
        return Check(name, True)
    first = int(np.argmax(bad))
    excess = np.where(below, (spec.min or 0.0) - y, np.where(above, y - (spec.max or 0.0), 0.0))
    worst = int(np.nanargmax(np.where(np.isnan(excess), -np.inf, excess)))
    side = "below min" if below[first] else "above max" if above[first] else "not a number"
    return Check(name, False, f"{spec.variable} = {y[first]:.6g} {side} at t={t[first]:g} s first "
                              f"({int(bad.sum())} samples out; worst {y[worst]:.6g} at t={t[worst]:g} s)",
                 float(t[first]))


def _final(name: str, spec: Final, times: NDArray[np.float64], values: NDArray[np.float64]) -> Check:
    if not len(times):
        return Check(name, False, f"{spec.variable}: no sample")
    last, at = float(values[-1]), float(times[-1])
    allowed = spec.atol + spec.rtol * abs(spec.value)
    if abs(last - spec.value) <= allowed:
        return Check(name, True)
    return Check(name, False, f"{spec.variable} = {last:.6g} at the end (t={at:g} s), expected {spec.value:g} "
                              f"± {allowed:g} (off by {last - spec.value:+.6g})", at)


def _event(name: str, spec: Event, times: NDArray[np.float64], values: NDArray[np.float64]) -> Check:
    crossings = _crossings(times, values, spec.crosses, spec.direction)
    earliest = spec.after if spec.after is not None else -np.inf
    on_time = [t for t in crossings if earliest <= t <= spec.before]
    if on_time:
        return Check(name, True)
    way = {"up": "upward", "down": "downward", "either": "either way"}[spec.direction]
    if not crossings:
        seen = f"range [{np.nanmin(values):.6g}, {np.nanmax(values):.6g}]" if len(values) else "no samples"
        return Check(name, False, f"{spec.variable} never crosses {spec.crosses:g} {way} ({seen} over "
                                  f"{_span(times)})", spec.before)
    return Check(name, False, f"{spec.variable} crosses {spec.crosses:g} {way} at "
                              f"{', '.join(f't={t:g} s' for t in crossings[:5])}, none in "
                              f"[{'start' if spec.after is None else f'{spec.after:g}'}, {spec.before:g}] s",
                 crossings[0])


def _crossings(times: NDArray[np.float64], values: NDArray[np.float64], level: float, direction: str) -> list[float]:
    """The times (linearly interpolated) at which the signal reaches `level` from the given side."""
    if len(values) < 2:
        return []
    a, b = values[:-1], values[1:]
    up = (a < level) & (b >= level)
    down = (a > level) & (b <= level)
    hits = up if direction == "up" else down if direction == "down" else up | down
    out = []
    for i in np.flatnonzero(hits):
        t0, t1, y0, y1 = times[i], times[i + 1], a[i], b[i]
        out.append(float(t0 + (level - y0) / (y1 - y0) * (t1 - t0)) if y1 != y0 else float(t1))
    return out


def _span(times: NDArray[np.float64]) -> str:
    return f"t in [{times[0]:g}, {times[-1]:g}] s" if len(times) else "no samples"
