"""funnel's tolerance tube, computed with numpy.

funnel (lbl-srg/funnel, the algorithm behind BuildingsPy's regression tests) puts a rectangle of half-width
`ttol` and half-height `h_i = max(atol, range_rtol * range(y), rtol * |y_i|)` on every reference sample and
takes as the tube the region those rectangles sweep along the reference, linear between samples. Its upper
bound at a time t is therefore the largest value of reference + h over [t - ttol, t + ttol] (the lower bound
the smallest of reference - h): the reference interpolated linearly where ttol is 0, widened over the time
tolerance so that an event shifted by less than ttol stays inside. funnel builds that outline from the
rectangles' corners in C and writes five CSV files per signal (about 3 s per million samples, most of it
text output); here the same bounds come from a range maximum over the samples in each window (a sparse table,
one level at a time) and the window's ends interpolated, in O(n log w) numpy operations, with
what depends only on the two time axes (Grid) computed once for all the signals that share them.
tests/compare/test_tubes.py checks the bounds against pyfunnel's own.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import NDArray

from .tolerances import Tolerance

Array = NDArray[np.float64]
ZERO = 1e-10  # funnel's test for a zero tube size (its `equ`)


def half_heights(values: Array, tol: Tolerance) -> Array | float:
    """The tube's half-height at each reference sample, as funnel sizes it (a float when it is the same for all).

    Where the tolerances give 0 (a constant or zero signal with relative tolerances), funnel falls back on the
    range tolerance times the signal's magnitude, then on the relative tolerances taken as absolute values,
    as csv-compare does."""
    if values.size == 0:
        return 0.0
    top, bottom = float(values.max()), float(values.min())
    base = max(tol.atol, tol.range_rtol * (top - bottom))
    h: Array | float = np.maximum(base, tol.rtol * np.abs(values)) if tol.rtol else base
    fallback = max(tol.range_rtol * max(top, abs(bottom)), 0.0) if tol.range_rtol else 0.0
    if fallback < ZERO:
        fallback = max(fallback, tol.range_rtol, tol.rtol)
    if isinstance(h, float):
        return max(h, fallback) if h < ZERO else h
    return np.where(h < ZERO, np.maximum(h, fallback), h)


class Weights:
    """Linear interpolation from the axis `xp` onto the points `x`, prepared once: each point's interval and
    fraction, so that interpolating many signals on the same two axes costs two gathers each (np.interp
    searches again every time). Identity when the two axes are equal (a result on its reference's grid)."""

    def __init__(self, xp: Array, x: Array) -> None:
        self.identity = xp is x or (xp.shape == x.shape and bool(np.array_equal(xp, x)))
        if self.identity or xp.size < 2:
            self.j = np.zeros(x.shape, dtype=np.intp)
            self.f = np.zeros(x.shape)
            return
        j = np.clip(np.searchsorted(xp, x, "right") - 1, 0, xp.size - 2)
        width = xp[j + 1] - xp[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            self.f = np.where(width > 0, (x - xp[j]) / width, 1.0)  # 0-width: the last duplicate, at the end
        self.j = j

    def __call__(self, values: Array) -> Array:
        """`values` (on xp) at the points x."""
        if self.identity:
            return values
        if values.size < 2:
            return np.full(self.j.shape, values[0] if values.size else np.nan)
        low = values[self.j]
        return low + self.f * (values[self.j + 1] - low)


class Grid:
    """The result's times placed on the reference's for one time tolerance: each time's window
    [t - ttol, t + ttol] clipped to the reference's span, its ends' interpolation weights and the reference
    samples inside it, grouped by the sparse table's level. Computed once, shared by every signal on the same
    two time axes."""

    def __init__(self, ref_times: Array, times: Array, ttol: float) -> None:
        self.at = Weights(ref_times, times)
        if ttol == 0:
            start = end = np.clip(times, ref_times[0], ref_times[-1])
            self.start = self.end = self.at
        else:
            start = np.clip(times - ttol, ref_times[0], ref_times[-1])
            end = np.clip(times + ttol, ref_times[0], ref_times[-1])
            self.start, self.end = Weights(ref_times, start), Weights(ref_times, end)
        lo = np.searchsorted(ref_times, start, "left")
        hi = np.searchsorted(ref_times, end, "right")
        self.size = times.size
        self.levels: list[tuple[int, NDArray[np.intp] | None, NDArray[np.intp], NDArray[np.intp]]] = []
        length = hi - lo
        some = length > 0
        if some.any():
            level_of = np.full(lo.shape, -1, dtype=np.intp)
            level_of[some] = np.frexp(length[some].astype(np.float64))[1] - 1  # floor(log2 L), exact
            for k in np.unique(level_of[some]).tolist():
                chosen = level_of == k
                index = None if chosen.all() else np.flatnonzero(chosen)
                a, b = (lo, hi) if index is None else (lo[index], hi[index])
                self.levels.append((int(k), index, a, b - (1 << int(k))))

    def extreme(self, values: Array, op: Callable[[Array, Array], Array], empty: float) -> Array:
        """op over the reference samples in each window (`empty` where none is)."""
        if len(self.levels) == 1 and self.levels[0][1] is None:
            out = None
        else:
            out = np.full(self.size, empty)
        level, built = values, 0
        for k, index, a, b in self.levels:
            while built < k:
                step = 1 << built
                level = op(level[:-step], level[step:])
                built += 1
            found = op(level[a], level[b])
            if out is None:
                return found
            out[index if index is not None else slice(None)] = found
        return out if out is not None else np.full(self.size, empty)

    def bounds(self, ref_values: Array, tol: Tolerance) -> tuple[Array, Array]:
        """The tube's (lower, upper) bounds at the result's times around `ref_values`, sized by `tol`."""
        h = half_heights(ref_values, tol)
        if isinstance(h, float):  # one half-height: the extremes of the reference, shifted (half the work)
            first = self.start(ref_values)
            last = first if self.end is self.start else self.end(ref_values)
            upper = np.maximum(np.maximum(first, last), self.extreme(ref_values, np.maximum, -np.inf))
            lower = np.minimum(np.minimum(first, last), self.extreme(ref_values, np.minimum, np.inf))
            return lower - h, upper + h
        top, bottom = ref_values + h, ref_values - h
        upper = np.maximum(self.start(top), self.extreme(top, np.maximum, -np.inf))
        lower = np.minimum(self.start(bottom), self.extreme(bottom, np.minimum, np.inf))
        if self.end is not self.start:
            upper = np.maximum(upper, self.end(top))
            lower = np.minimum(lower, self.end(bottom))
        return lower, upper


def tube(ref_times: Array, ref_values: Array, times: Array, tol: Tolerance) -> tuple[Array, Array]:
    """The tube's (lower, upper) bounds at `times` (sorted, within the reference's span) around the reference."""
    return Grid(ref_times, times, tol.ttol).bounds(ref_values, tol)
