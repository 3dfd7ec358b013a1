"""federation.sweep: the sweep engine from Python, with a typed result of every run's outcome."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

import federation

from .conftest import FLAGSHIP, twins


def test_a_grid_sweep_gives_each_run_s_outcome_and_results(fmu_dist: Path) -> None:
    seen: list[str] = []
    result = federation.sweep(twins(stop=60.0), {"furnace.T_set": [1200.0, 1300.0], "grid.H": numpy.array([4.0])},
                              progress=lambda r: seen.append(r.name))
    assert result.out is None and len(result) == 2 and result.failed == []
    assert [r.params for r in result] == [{"furnace.T_set": 1200.0, "grid.H": 4.0}, {"furnace.T_set": 1300.0, "grid.H": 4.0}]
    assert sorted(seen) == sorted(r.name for r in result)
    low, high = (r.results() for r in result)
    assert low.status == high.status == "completed" and low.out is None
    assert low.units["furnace.P_el"] == "W" and not numpy.array_equal(low["furnace.P_el"].values, high["furnace.P_el"].values)
    assert result.runs[0].metrics["furnace.P_el.max"] == low["furnace.P_el"].values.max()
    assert "furnace.P_el.energy_J" in result.runs[0].metrics


def test_a_sweep_into_a_folder_is_reused_when_nothing_changed(fmu_dist: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    first = federation.sweep(twins(stop=30.0), {"furnace.T_set": [1200.0, 1300.0]}, out=out)
    assert first.out == out and [r.reused for r in first] == [False, False]
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [".federation", "built_scenario.yaml", "summary.csv"]
    again = federation.sweep(twins(stop=30.0), {"furnace.T_set": [1200.0, 1300.0]}, out=out)
    assert [(r.reused, r.reason) for r in again] == [(True, "reused: identical inputs")] * 2
    assert again.runs[1].results().out == out / again.runs[1].name
    changed = federation.sweep(twins(stop=40.0), {"furnace.T_set": [1200.0]}, out=out)
    assert (changed.runs[0].reused, changed.runs[0].reason) == (False, "scenario changed")
    with open(out / "summary.csv", newline="") as fh:
        assert [row["run"] for row in csv.DictReader(fh)] == [changed.runs[0].name]


def test_monte_carlo_draws_are_the_cli_s(fmu_dist: Path, tmp_path: Path) -> None:
    """Uniform is `--param KEY=LO..HI`: the same seed draws the same runs (whole numbers for an Integer)."""
    sc = federation.Scenario.load(FLAGSHIP, {"time.stop": 60.0})
    result = federation.sweep(sc, {"vehicle.n_ev": federation.Uniform(50, 150), "furnace.T_set": [1200.0, 1250.0]},
                              samples=3, seed=7, out=tmp_path / "api")
    assert all(isinstance(r.params["vehicle.n_ev"], int) and 50 <= r.params["vehicle.n_ev"] <= 150 for r in result)
    subprocess.run([sys.executable, "-m", "federation.cli", "sweep", str(FLAGSHIP), "--mode", "embedded", "--stop", "60",
                    "--param", "vehicle.n_ev=50..150", "--param", "furnace.T_set=1200.0,1250.0", "--samples", "3",
                    "--seed", "7", "--out", str(tmp_path / "cli")], check=True, capture_output=True, cwd=tmp_path)
    with open(tmp_path / "cli" / "summary.csv", newline="") as fh:
        assert [row["run"] for row in csv.DictReader(fh)] == [r.name for r in result]
    pandas = pytest.importorskip("pandas")
    frame = result.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and list(frame.index) == [r.name for r in result]
    assert list(frame["vehicle.n_ev"]) == [r.params["vehicle.n_ev"] for r in result]


def test_a_failed_run_fails_alone(fmu_dist: Path) -> None:
    result = federation.sweep(twins(stop=10.0), {"furnace.T_set": [1200.0, -1e400]})
    assert [r.status for r in result] == ["completed", "failed"] and result.completed == [result.runs[0]]
    failed = result.runs[1]
    assert failed.error and "T_set" in failed.error
    assert failed.results().status == "failed" and isinstance(failed.results().error, RuntimeError)


@pytest.mark.parametrize(("params", "message"), [
    ({"furnace.T_set": "1200"}, r"params\['furnace.T_set'\]: give a list of values or a Uniform"),
    ({"furnace.T_set": []}, r"params\['furnace.T_set'\]: no values"),
    ({"furnace.T_set": federation.Uniform(2, 1)}, r"Uniform\(2, 1\) needs lo <= hi"),
    ({"furnace.T_set": federation.Uniform(1, 2)}, "a range needs --samples"),
    ({"furnace.T_set": [1200.0, 1200.0]}, "two runs would share the folder"),
])
def test_bad_params_are_sweep_errors_before_any_run(fmu_dist: Path, tmp_path: Path, params: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(federation.SweepError, match=message):
        federation.sweep(twins(), params, out=tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out" / "summary.csv").exists()


def test_an_unknown_parameter_is_a_scenario_error(fmu_dist: Path) -> None:
    with pytest.raises(federation.ScenarioError, match="federates.furnace.parameters.T_sett"):
        federation.sweep(twins(), {"furnace.T_sett": [1.0]})
    with pytest.raises(federation.SweepError, match="unknown sweep mode 'grpc'"):
        federation.sweep(twins(), {"furnace.T_set": [1.0]}, mode="grpc")  # type: ignore[arg-type]
