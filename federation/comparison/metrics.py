"""Error metrics for measured data: RMSE, NRMSE and max error of a result against a reference.

The result is interpolated linearly onto the reference's times (the measurement's, typically irregular and
misaligned with the simulation's steps), over the span both cover; NRMSE divides RMSE by the reference's
range (max - min), NaN for a constant reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .tubes import Weights

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Metrics:
    """RMSE, NRMSE (by the reference's range), max |error| and its time, over `samples` reference times."""

    rmse: float
    nrmse: float
    max_error: float
    max_error_time: float | None
    samples: int


def metrics(values: Array, ref_times: Array, ref_values: Array, inside: NDArray[np.bool_],
            onto: Weights) -> Metrics:
    """The result's `values` against the reference on the reference's times within the result's span
    (`inside`), the result interpolated onto them by `onto` (tubes.Weights from the result's times)."""
    at = ref_times if inside.all() else ref_times[inside]
    if at.size == 0 or values.size == 0:
        return Metrics(float("nan"), float("nan"), float("nan"), None, 0)
    expected = ref_values if at is ref_times else ref_values[inside]
    error = onto(values) - expected
    rmse = float(np.sqrt(np.mean(np.square(error))))
    span = float(ref_values.max() - ref_values.min())
    worst = int(np.argmax(np.abs(error)))
    return Metrics(rmse, rmse / span if span > 0 else float("nan"), float(abs(error[worst])), float(at[worst]),
                   int(at.size))
