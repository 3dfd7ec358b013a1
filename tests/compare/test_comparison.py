"""compare() catches the regressions a CI pipeline meets and passes what has not changed (issue 17, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import federation
from federation import Tolerance, Tolerances, compare
from federation.comparison import CompareError

T = np.arange(0.0, 3600.0 + 1e-9, 1.0)


def plant(t: np.ndarray, event: float = 1800.0, gain: float = 1.0) -> np.ndarray:
    """A first-order response that switches at `event`: smooth parts and one discontinuity."""
    base = 20.0 + 60.0 * gain * (1 - np.exp(-t / 400.0))
    return np.where(t < event, base, base - 30.0 * gain)


def write_csv(path: Path, t: np.ndarray, columns: dict[str, np.ndarray]) -> Path:
    with open(path, "w") as fh:
        fh.write(",".join(["time", *columns]) + "\n")
        for i in range(t.size):
            fh.write(",".join(repr(float(v)) for v in [t[i], *(c[i] for c in columns.values())]) + "\n")
    return path


def test_an_identical_result_passes_even_with_no_tolerance(tmp_path: Path) -> None:
    ref = write_csv(tmp_path / "ref.csv", T, {"room.T": plant(T), "heater.on": (T < 1800).astype(float)})
    result = compare(ref, ref, tolerances=Tolerances(Tolerance()))
    assert result.passed and [s.name for s in result.signals] == ["room.T", "heater.on"]
    assert all(s.max_deviation == 0 and s.rmse == 0 for s in result.signals)
    assert result.missing == result.extra == []


def test_the_same_result_resampled_passes(tmp_path: Path) -> None:
    """Every 7.3 s instead of every second, the event between two samples: the default tube, plus a time tolerance
    of one reference step for the discontinuity."""
    ref = write_csv(tmp_path / "ref.csv", T, {"room.T": plant(T)})
    coarse = np.append(np.arange(0.0, 3600.0, 7.3), 3600.0)
    res = write_csv(tmp_path / "res.csv", coarse, {"room.T": plant(coarse)})
    assert compare(res, ref, tolerances=Tolerances(Tolerance(range_rtol=1e-3, ttol=1.0))).passed
    # and the other way round: the fine result against the coarse reference
    assert compare(ref, res, tolerances=Tolerances(Tolerance(range_rtol=1e-3, ttol=7.3))).passed


def test_a_shifted_event_passes_within_the_time_tolerance_and_fails_beyond_naming_the_time() -> None:
    ref = {"room.T": (T, plant(T))}
    late = {"room.T": (T, plant(T, event=1803.0))}
    tol = Tolerances(Tolerance(range_rtol=1e-3, ttol=5.0))
    assert compare(late, ref, tolerances=tol).passed
    later = {"room.T": (T, plant(T, event=1812.0))}
    result = compare(later, ref, tolerances=tol)
    signal = result.signals[0]
    assert not result.passed and signal.first_failure == pytest.approx(1805.0)  # the reference's event + ttol
    check = signal.check()
    assert check.time == signal.first_failure and "t=1805 s" in check.message and "room.T" == check.name


def test_a_slowly_growing_drift_fails_naming_when_it_leaves_the_tube() -> None:
    ref = plant(T)
    drift = ref + 1e-4 * T  # 0.36 K after an hour
    tol = Tolerances(Tolerance(atol=0.1))
    result = compare({"room.T": (T, drift)}, {"room.T": (T, ref)}, tolerances=tol)
    signal = result.signals[0]
    assert not result.passed
    assert signal.first_failure == pytest.approx(1001.0)  # 1e-4 * t > 0.1 first at t = 1001 s
    assert signal.max_deviation == pytest.approx(0.36) and signal.max_deviation_time == 3600.0
    assert "out of the tube from t=1001 s" in signal.check().message


def test_a_spike_of_one_sample_fails() -> None:
    spiked = plant(T).copy()
    spiked[2500] += 2.0
    result = compare({"room.T": (T, spiked)}, {"room.T": (T, plant(T))},
                     tolerances=Tolerances(Tolerance(atol=0.5, ttol=2.0)))
    signal = result.signals[0]
    assert not result.passed and signal.out_of_tube == 1 and signal.first_failure == 2500.0
    assert signal.max_excess == pytest.approx(1.5, abs=0.01)  # less the tube's widening over ±2 s


def test_a_missing_variable_fails_and_an_extra_one_is_reported() -> None:
    ref = {"room.T": (T, plant(T)), "heater.P": (T, plant(T))}
    res = {"room.T": (T, plant(T)), "debug.x": (T, T)}
    result = compare(res, ref)
    assert not result.passed and result.missing == ["heater.P"] and result.extra == ["debug.x"]
    failing = [c for c in result.checks() if not c.passed]
    assert [c.name for c in failing] == ["heater.P"] and "missing" in failing[0].message


def test_a_run_that_stopped_early_fails() -> None:
    short = T[T <= 2000]
    result = compare({"room.T": (short, plant(short))}, {"room.T": (T, plant(T))})
    assert not result.passed and "the results end at t=2000 s" in result.signals[0].check().message


def test_a_changed_gain_fails_and_a_unit_error_fails() -> None:
    ref = {"room.T": (T, plant(T))}
    assert not compare({"room.T": (T, plant(T, gain=1.05))}, ref).passed
    assert not compare({"room.T": (T, plant(T) + 273.15)}, ref).passed  # °C against K


def test_noisy_irregular_misaligned_measurements_give_metrics_close_to_the_noise() -> None:
    """A 'measurement' of the reference: irregular times, offset from the simulation's grid, gaps, noise of 0.2."""
    rng = np.random.default_rng(7)
    t_meas = np.sort(rng.uniform(0.0, 3600.0, 2000))
    measured = plant(t_meas, event=1e9) + rng.normal(0.0, 0.2, t_meas.size)
    measured[rng.choice(t_meas.size, 40, replace=False)] = np.nan  # gaps in the logger's data
    simulated = {"room.T": (T, plant(T, event=1e9))}
    result = compare(simulated, {"room.T": (t_meas, measured)}, tolerances=Tolerances(Tolerance(atol=1.0)))
    signal = result.signals[0]
    assert signal.rmse == pytest.approx(0.2, rel=0.1)
    span = np.nanmax(measured) - np.nanmin(measured)
    assert signal.nrmse == pytest.approx(signal.rmse / span)
    assert 0.4 < signal.max_error < 1.0  # a few sigma of 2000 samples
    assert result.passed  # within 1 K everywhere


def test_per_variable_tolerances_from_a_file_and_a_mapping(tmp_path: Path) -> None:
    file = tmp_path / "tol.yaml"
    file.write_text("default: {atol: 0.01}\nvariables:\n  room.T: {atol: 1.0, ttol: 2}\n")
    tols = Tolerances.load(file)
    assert tols.of("room.T") == Tolerance(atol=1.0, ttol=2.0) and tols.default == Tolerance(atol=0.01)
    assert Tolerances.load(file, ttol=5.0).of("other") == Tolerance(atol=0.01, ttol=5.0)
    ref = {"T_meas": (T, plant(T))}
    res = {"room.T": (T, plant(T) + 0.5)}
    result = compare(res, ref, tolerances=tols, mapping={"room.T": "T_meas"})
    assert result.passed and result.signals[0].label == "room.T (reference T_meas)"
    json_file = tmp_path / "tol.json"
    json_file.write_text(json.dumps({"variables": {"T_meas": {"atol": 0.1}}}))
    assert not compare(res, ref, tolerances=Tolerances.load(json_file), mapping={"room.T": "T_meas"}).passed


@pytest.mark.parametrize("text, words", [
    ("default: {atol: -1}\n", "default: tolerance atol: -1"),
    ("default: {atoll: 1}\n", "unknown key(s) atoll"),
    ("variables: {x: 3}\n", "variables.x: expected a mapping"),
    ("defaults: {}\n", "unknown key(s) defaults"),
])
def test_a_bad_tolerance_file_is_named(tmp_path: Path, text: str, words: str) -> None:
    file = tmp_path / "tol.yaml"
    file.write_text(text)
    with pytest.raises(federation.ConfigurationError, match=str(file)) as info:
        Tolerances.load(file)
    assert words in str(info.value)


def test_bad_inputs_are_errors_naming_the_file_and_the_column(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", T[:5], {"x": T[:5]})
    bad = tmp_path / "bad.csv"
    bad.write_text("time,x,y\n0,1,2\n1,oops,3\n")
    with pytest.raises(CompareError, match=r"bad.csv, line 3, column 'x': 'oops' is not a number"):
        compare(bad, good)
    with pytest.raises(CompareError, match="missing.csv: cannot be read"):
        compare(tmp_path / "missing.csv", good)
    backwards = tmp_path / "backwards.csv"
    backwards.write_text("time,x\n0,1\n2,1\n1,1\n")
    with pytest.raises(CompareError, match="time goes backwards"):
        compare(backwards, good)
    with pytest.raises(CompareError, match=r"no column 'nope' \(did you mean|no column 'nope' \(it has"):
        compare(good, good, mapping={"nope": "x"})


def test_empty_cells_are_gaps_and_a_semicolon_csv_is_read(tmp_path: Path) -> None:
    gappy = tmp_path / "gappy.csv"
    gappy.write_text("Time;x\n0;1\n1;\n2;3\n")
    from federation.comparison import read_table

    table = read_table(gappy)
    t, x = table.signals["x"]
    assert list(t) == [0.0, 1.0, 2.0] and np.isnan(x[1])
    assert compare(gappy, {"x": ([0.0, 2.0], [1.0, 3.0])}, tolerances=Tolerances(Tolerance())).passed


def test_without_pandas_the_csv_is_read_by_numpy(tmp_path: Path) -> None:
    """pandas is an extra: without it (blocked in a child process) the same values come from numpy.loadtxt."""
    import subprocess
    import sys

    path = write_csv(tmp_path / "r.csv", T[:50], {"room.T": plant(T[:50])})
    code = ("import sys; sys.modules['pandas'] = None\n"
            "from federation.comparison import read_table\n"
            f"t, y = read_table({str(path)!r}).signals['room.T']\n"
            "print(len(t), repr(float(y[-1])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["50", repr(float(plant(T[:50])[-1]))]
