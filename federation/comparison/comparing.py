"""The comparison: each reference signal's tube, the result checked against it, and the metrics.

A result sample out of the tube fails its signal (funnel's rule: strictly below the lower bound or above the
upper one). The result must cover the reference's time span (within the time tolerance): a run that stopped
early fails. Result samples outside the reference's span are not compared. NaN samples (gaps in measured
data) are left out on either side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from .checks import Check
from .metrics import Metrics, metrics
from .signals import CompareError, Source, Table, pair, read_table
from .tolerances import DEFAULT, Tolerance, Tolerances
from .tubes import Grid, Weights, tube

log = logging.getLogger(__name__)

Array = NDArray[np.float64]
_EMPTY = np.empty(0)


@dataclass
class SignalComparison:
    """One signal compared: whether it stayed in its tube, the first time it left it, the largest deviation
    |result - reference| (the reference interpolated at the result's times) and where, the farthest a sample
    lies outside the tube, and the metrics (RMSE, NRMSE by the reference's range, max error) of the result
    interpolated linearly onto the reference's times. `tube()` gives the bounds to plot."""

    name: str
    reference_name: str
    tolerance: Tolerance
    passed: bool
    first_failure: float | None = None  # s: the first result time out of the tube
    out_of_tube: int = 0  # result samples out of the tube
    compared: int = 0  # result samples compared (those within the reference's span)
    max_excess: float = 0.0  # the farthest a result sample lies outside the tube
    max_excess_time: float | None = None
    max_deviation: float = 0.0  # max |result - reference| over the result's times (reference interpolated)
    max_deviation_time: float | None = None
    rmse: float = float("nan")
    nrmse: float = float("nan")
    max_error: float = float("nan")  # max |result - reference| over the reference's times (result interpolated)
    max_error_time: float | None = None
    coverage: str = ""  # why the result does not cover the reference's span, if it does not
    result: tuple[Array, Array] = field(default=(_EMPTY, _EMPTY), repr=False)
    reference: tuple[Array, Array] = field(default=(_EMPTY, _EMPTY), repr=False)

    @property
    def label(self) -> str:
        """The name, with the reference's column when a mapping paired a differently named one."""
        return self.name if self.name == self.reference_name else f"{self.name} (reference {self.reference_name})"

    def check(self) -> Check:
        """This signal's verdict as a Check (message: first time out of tube, max deviation and where)."""
        deviation = (f"max deviation {self.max_deviation:.6g} at t={self.max_deviation_time:g} s"
                     if self.max_deviation_time is not None else "no sample compared")
        if self.passed:
            return Check(self.label, True, f"within the tube; {deviation}")
        parts = []
        if self.first_failure is not None:
            parts.append(f"out of the tube from t={self.first_failure:g} s ({self.out_of_tube} of {self.compared} "
                         f"samples), by up to {self.max_excess:.6g} at t={self.max_excess_time:g} s")
        if self.coverage:
            parts.append(self.coverage)
        parts.append(deviation)
        parts.append(f"tolerance {describe(self.tolerance)}")
        return Check(self.label, False, "; ".join(parts), self.first_failure)

    def tube(self) -> tuple[Array, Array]:
        """The tube's lower and upper bounds at the result's compared times (computed again: large, so not kept)."""
        times, _ = self.compared_result()
        ref_times, ref_values = self.reference
        if times.size == 0:
            return _EMPTY, _EMPTY
        return tube(ref_times, ref_values, times, self.tolerance)

    def compared_result(self) -> tuple[Array, Array]:
        """The result's samples within the reference's span: those the tube judges."""
        times, values = self.result
        ref_times = self.reference[0]
        if ref_times.size == 0:
            return _EMPTY, _EMPTY
        inside = (times >= ref_times[0]) & (times <= ref_times[-1])
        return (times, values) if inside.all() else (times[inside], values[inside])


def describe(tol: Tolerance) -> str:
    """The non-zero tolerances as text ("atol=0.01, ttol=0.5 s"), or "0" for an exact match."""
    parts = [f"{k}={getattr(tol, k):g}" + (" s" if k == "ttol" else "")
             for k in ("atol", "rtol", "range_rtol", "ttol") if getattr(tol, k)]
    return ", ".join(parts) or "0"


@dataclass
class Comparison:
    """A comparison's outcome: the compared signals, the reference's variables the results lack (`missing`,
    failing), the results' variables the reference lacks (`extra`, reported only)."""

    results: str
    reference: str
    signals: list[SignalComparison]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every signal stayed in its tube and no variable is missing."""
        return not self.missing and all(s.passed for s in self.signals)

    @property
    def failed(self) -> list[SignalComparison]:
        """The signals that left their tube (or did not cover the reference's span)."""
        return [s for s in self.signals if not s.passed]

    def checks(self) -> list[Check]:
        """One Check per compared signal, then one failing Check per missing variable."""
        return [s.check() for s in self.signals] + [
            Check(name, False, f"missing: the results ({self.results}) have no column {name!r}")
            for name in self.missing]


def compare(results: Source | Table, reference: Source | Table, *, tolerances: Tolerances | None = None,
            mapping: Mapping[str, str] | None = None) -> Comparison:
    """Compare `results` with `reference` (each a CSV path with a time column, or a mapping name -> (t, y)).

    Every reference signal gets a tube (funnel's, sized by `tolerances`; None: `Tolerances()` with the default
    tube, 0.1% of the signal's range); the result's signal of the same name, or the one `mapping` pairs with it
    (result name -> reference name), must stay inside. CompareError for an unreadable input or a mapping
    naming no column.
    """
    res = results if isinstance(results, Table) else read_table(results, "results")
    ref = reference if isinstance(reference, Table) else read_table(reference, "reference")
    tolerances = tolerances if tolerances is not None else Tolerances(DEFAULT)
    pairs, missing, extra = pair(res, ref, mapping)
    cache: dict[tuple[object, ...], object] = {}  # what depends only on the time axes, shared by their signals
    signals = []
    for name, ref_name in pairs:
        tol = tolerances.of(name, ref_name)
        signals.append(_compare_one(name, ref_name, res.signals[name], ref.signals[ref_name], tol, cache))
    if missing:
        log.info("%d reference variable(s) missing from the results: %s", len(missing), ", ".join(missing))
    return Comparison(res.source, ref.source, signals, missing, extra)


def _finite(times: Array, values: Array) -> tuple[Array, Array]:
    keep = ~np.isnan(values)
    return (times, values) if keep.all() else (times[keep], values[keep])


def _compare_one(name: str, ref_name: str, result: tuple[Array, Array], reference: tuple[Array, Array],
                 tol: Tolerance, cache: dict[tuple[object, ...], object]) -> SignalComparison:
    times, values = _finite(*result)
    ref_times, ref_values = _finite(*reference)
    out = SignalComparison(name, ref_name, tol, False, result=(times, values), reference=(ref_times, ref_values))
    if ref_times.size == 0:
        out.passed, out.coverage = times.size == 0, "the reference has no sample"
        return out
    if times.size == 0:
        out.coverage = "the results have no sample"
        return out
    gaps = []
    slack = tol.ttol + 1e-9 * max(1.0, abs(float(ref_times[-1])))
    if times[0] > ref_times[0] + slack:
        gaps.append(f"the results start at t={times[0]:g} s, the reference at t={ref_times[0]:g} s")
    if times[-1] < ref_times[-1] - slack:
        gaps.append(f"the results end at t={times[-1]:g} s, the reference at t={ref_times[-1]:g} s")
    out.coverage = "; ".join(gaps)
    # Signals without gaps share their table's time arrays: what depends on the axes only is computed once.
    axes = (id(times), id(ref_times))
    at = _cached(cache, ("at", *axes), lambda: out.compared_result()[0])
    got = values if at is times else out.compared_result()[1]
    out.compared = int(at.size)
    if at.size:
        grid = _cached(cache, ("grid", *axes, tol.ttol), lambda: Grid(ref_times, at, tol.ttol))
        lower, upper = grid.bounds(ref_values, tol)
        excess = np.maximum(lower - got, got - upper)  # > 0 outside the tube
        bad = excess > 0
        out.out_of_tube = int(np.count_nonzero(bad))
        if out.out_of_tube:
            out.first_failure = float(at[int(np.argmax(bad))])
            worst = int(np.argmax(excess))
            out.max_excess, out.max_excess_time = float(excess[worst]), float(at[worst])
        deviation = np.abs(got - grid.at(ref_values))
        worst = int(np.argmax(deviation))
        out.max_deviation, out.max_deviation_time = float(deviation[worst]), float(at[worst])
    onto_reference = _cached(cache, ("onto", *axes), lambda: _onto(times, ref_times))
    m: Metrics = metrics(values, ref_times, ref_values, *onto_reference)
    out.rmse, out.nrmse, out.max_error, out.max_error_time = m.rmse, m.nrmse, m.max_error, m.max_error_time
    out.passed = out.out_of_tube == 0 and not out.coverage and out.compared > 0
    return out


def _onto(times: Array, ref_times: Array) -> tuple[NDArray[np.bool_], Weights]:
    """The reference times within the result's span, and the weights interpolating the result onto them."""
    inside = (ref_times >= times[0]) & (ref_times <= times[-1])
    return inside, Weights(times, ref_times if inside.all() else ref_times[inside])


_T = TypeVar("_T")


def _cached(cache: dict[tuple[object, ...], object], key: tuple[object, ...], make: Callable[[], _T]) -> _T:
    if key not in cache:
        cache[key] = make()
    return cast(_T, cache[key])


__all__ = ["CompareError", "Comparison", "SignalComparison", "compare", "describe"]
