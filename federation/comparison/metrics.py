"""Error metrics for measured data: RMSE, NRMSE and max error of a result against a reference.

The result is interpolated linearly onto the reference's times (the measurement's, typically irregular and
misaligned with the simulation's steps), over the span both cover; NRMSE divides RMSE by the reference's
range (max - min), NaN for a constant reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Metrics:
    """RMSE, NRMSE (by the reference's range), max |error| and its time, over `samples` reference times."""

    rmse: float
    nrmse: float
    max_error: float
    max_error_time: float | None
    samples: int


def metrics(times: Array, values: Array, ref_times: Array, ref_values: Array) -> Metrics:
    """The result (times, values) against the reference, on the reference's times within the result's span."""
    if times.size == 0 or ref_times.size == 0:
        return Metrics(float("nan"), float("nan"), float("nan"), None, 0)
    inside = (ref_times >= times[0]) & (ref_times <= times[-1])
    at, expected = ref_times[inside], ref_values[inside]
    if at.size == 0:
        return Metrics(float("nan"), float("nan"), float("nan"), None, 0)
    error = np.interp(at, times, values) - expected
    rmse = float(np.sqrt(np.mean(np.square(error))))
    span = float(ref_values.max() - ref_values.min())
    worst = int(np.argmax(np.abs(error)))
    return Metrics(rmse, rmse / span if span > 0 else float("nan"), float(abs(error[worst])), float(at[worst]),
                   int(at.size))
