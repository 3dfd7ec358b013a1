"""The comparison: each reference signal's tube, the result checked against it, and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from numpy.typing import NDArray

from .checks import Check
from .signals import Source
from .tolerances import Tolerance, Tolerances


@dataclass
class SignalComparison:
    """One signal compared: whether it stayed in its tube, the first time it left it, the largest deviation
    |result - reference| and where, and the metrics (RMSE, NRMSE by the reference's range, max error) of the
    result interpolated linearly onto the reference's times. `tube()` gives the data to plot."""

    name: str
    reference_name: str
    tolerance: Tolerance
    passed: bool
    first_failure: float | None = None  # s: the first result time out of the tube
    out_of_tube: int = 0  # result samples out of the tube
    max_excess: float = 0.0  # the farthest a result sample lies outside the tube
    max_excess_time: float | None = None
    max_deviation: float = 0.0  # max |result - reference| over the result's times (reference interpolated)
    max_deviation_time: float | None = None
    rmse: float = float("nan")
    nrmse: float = float("nan")
    max_error: float = float("nan")  # max |result - reference| over the reference's times (result interpolated)
    result: tuple[NDArray[np.float64], NDArray[np.float64]] = field(default=(np.empty(0), np.empty(0)), repr=False)
    reference: tuple[NDArray[np.float64], NDArray[np.float64]] = field(default=(np.empty(0), np.empty(0)), repr=False)

    def check(self) -> Check:
        """This signal's verdict as a Check (message: first time out of tube, max deviation and where)."""
        raise NotImplementedError

    def tube(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The tube's lower and upper bounds at the result's times (computed again: large, so not kept)."""
        raise NotImplementedError


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

    def checks(self) -> list[Check]:
        """One Check per compared signal, then one failing Check per missing variable."""
        return [s.check() for s in self.signals] + [
            Check(name, False, f"{name}: missing from the results (in the reference {self.reference})")
            for name in self.missing]


def compare(results: Source, reference: Source, *, tolerances: Tolerances | None = None,
            mapping: Mapping[str, str] | None = None) -> Comparison:
    """Compare `results` with `reference` (each a CSV path with a time column, or a mapping name -> (t, y)).

    Every reference signal gets a tube (funnel's, sized by `tolerances`, 0 by default: the results must equal
    the reference, interpolated linearly); the result's signal of the same name, or the one `mapping` pairs
    with it (result name -> reference name), must stay inside. CompareError for an unreadable input or a
    mapping naming no column.
    """
    raise NotImplementedError
