"""funnel's tolerance tube, computed with numpy.

funnel (lbl-srg/funnel, the algorithm behind BuildingsPy's regression tests) puts a rectangle of half-width
`ttol` and half-height `h_i = max(atol, range_rtol * range(y), rtol * |y_i|)` on every reference sample and
takes as the tube the region those rectangles sweep along the reference, linear between samples. Its upper
bound at a time t is therefore the largest value of reference + h over [t - ttol, t + ttol] (the lower bound
the smallest of reference - h): the reference interpolated linearly where ttol is 0, widened over the time
tolerance so that an event shifted by less than ttol stays inside. funnel builds that outline from the
rectangles' corners in C and writes five CSV files per signal (about 3 s per million samples, most of it
text output); here the same bounds come from a range maximum over the samples in each window (a sparse table,
one level at a time) and the window's ends interpolated, in O(n log w) numpy operations.
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


def window_bounds(ref_times: Array, times: Array, ttol: float) -> tuple[Array, Array, NDArray[np.intp], NDArray[np.intp]]:
    """Each time's window [t - ttol, t + ttol] clipped to the reference's span, and the reference samples in it
    ([lo, hi) indices): shared by every signal on the same two time axes."""
    start = np.clip(times - ttol, ref_times[0], ref_times[-1])
    end = np.clip(times + ttol, ref_times[0], ref_times[-1])
    return start, end, np.searchsorted(ref_times, start, "left"), np.searchsorted(ref_times, end, "right")


def range_extreme(values: Array, lo: NDArray[np.intp], hi: NDArray[np.intp],
                  op: Callable[[Array, Array], Array], empty: float) -> Array:
    """op (np.maximum or np.minimum) over values[lo:hi] for every pair, `empty` where the range is empty.

    A sparse table built one level at a time: level k holds op over 2**k samples from each index, and a range
    of length L is covered by two (overlapping) blocks of the largest 2**k <= L. Only one level is kept."""
    out = np.full(lo.shape, empty)
    length = hi - lo
    some = length > 0
    if not some.any():
        return out
    level_of = np.zeros(lo.shape, dtype=np.intp)
    level_of[some] = np.frexp(length[some].astype(np.float64))[1] - 1  # floor(log2 L), exact for integers
    top = int(level_of[some].max())
    level = values
    for k in range(top + 1):
        chosen = some & (level_of == k)
        if chosen.any():
            out[chosen] = op(level[lo[chosen]], level[hi[chosen] - (1 << k)])
        if k < top:
            step = 1 << k
            level = op(level[:-step], level[step:])
    return out


def tube(ref_times: Array, ref_values: Array, times: Array, tol: Tolerance,
         window: tuple[Array, Array, NDArray[np.intp], NDArray[np.intp]] | None = None) -> tuple[Array, Array]:
    """The tube's (lower, upper) bounds at `times` around the reference (times sorted, within its span)."""
    h = half_heights(ref_values, tol)
    start, end, lo, hi = window if window is not None else window_bounds(ref_times, times, tol.ttol)
    top, bottom = ref_values + h, ref_values - h
    upper = np.maximum(np.interp(start, ref_times, top), np.interp(end, ref_times, top))
    lower = np.minimum(np.interp(start, ref_times, bottom), np.interp(end, ref_times, bottom))
    upper = np.maximum(upper, range_extreme(top, lo, hi, np.maximum, -np.inf))
    lower = np.minimum(lower, range_extreme(bottom, lo, hi, np.minimum, np.inf))
    return lower, upper
