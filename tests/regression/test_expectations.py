"""Expectations that need no reference, on signals whose answers are known: bounds, final value, event by a time."""

from __future__ import annotations

import numpy as np
import pytest

from federation.regression.expect import check_expectations
from federation.regression.suite import Expectation

T = np.arange(0.0, 101.0, 1.0)
SIGNALS = {"ramp": (T, T / 10.0), "dip": (T, np.where((T >= 40) & (T <= 45), 49.5, 50.0))}


def check(**given: object) -> tuple[bool, str, float | None]:
    (result,) = check_expectations([Expectation.model_validate(given)], SIGNALS)
    return result.passed, result.message, result.time


def test_bounds() -> None:
    assert check(within={"variable": "dip", "min": 49.0, "max": 51.0})[0]
    passed, message, time = check(within={"variable": "dip", "min": 49.8})
    assert not passed and time == 40.0
    assert "49.5 below min at t=40 s first" in message and "6 samples out" in message
    assert check(within={"variable": "dip", "min": 49.8, "from": 46})[0]  # the window leaves the dip out
    assert check(within={"variable": "dip", "min": 49.8, "to": 39})[0]
    passed, message, time = check(within={"variable": "ramp", "max": 5.0, "from": 20})
    assert not passed and time == 51.0 and "above max" in message


def test_final_value() -> None:
    assert check(final={"variable": "ramp", "value": 10.05, "atol": 0.1})[0]
    assert check(final={"variable": "ramp", "value": 9.5, "rtol": 0.06})[0]
    passed, message, time = check(final={"variable": "ramp", "value": 9.0, "atol": 0.5})
    assert not passed and time == 100.0 and "expected 9 ± 0.5 (off by +1)" in message


def test_event_by_a_time() -> None:
    assert check(event={"variable": "ramp", "crosses": 2.55, "direction": "up", "before": 30})[0]
    passed, message, time = check(event={"variable": "ramp", "crosses": 2.55, "direction": "up", "before": 20})
    assert not passed and time == pytest.approx(25.5) and "at t=25.5 s, none in [start, 20] s" in message
    passed, message, _ = check(event={"variable": "ramp", "crosses": 2.55, "direction": "down", "before": 100})
    assert not passed and "never crosses 2.55 downward" in message
    assert check(event={"variable": "dip", "crosses": 49.8, "direction": "down", "before": 41})[0]
    assert check(event={"variable": "dip", "crosses": 49.8, "direction": "up", "before": 50, "after": 44})[0]
    assert not check(event={"variable": "dip", "crosses": 49.8, "before": 50, "after": 46})[0]
    assert not check(event={"variable": "dip", "crosses": 60, "before": 100})[0]


def test_a_variable_not_recorded_fails_naming_it() -> None:
    passed, message, _ = check(final={"variable": "grid.f", "value": 50})
    assert not passed and message.startswith("grid.f is not in the results (recorded: dip, ramp)")
