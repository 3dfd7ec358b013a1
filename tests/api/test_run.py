"""federation.run: a Run with status, error, timings and numpy results with units, in every mode; and inspect."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy
import pytest

import federation

from .conftest import ROOT, twins, with_python


def test_a_run_holds_numpy_arrays_with_units_and_its_timings(fmu_dist: Path) -> None:
    seen: list[float] = []
    result = federation.run(twins(stop=60.0), progress=seen.append)
    assert result.status == "completed" and result.error is None and result.raise_for_status() is result
    assert result.out is None and not Path(result.record["scenario"]).parent.exists()  # the temporary folder is gone
    assert result.variables == ["grid.f", "grid.v_pcc", "furnace.P_el"]
    assert result.units == {"grid.f": "Hz", "grid.v_pcc": "pu", "furnace.P_el": "W"}
    assert result.time.dtype == numpy.float64 and list(result.time) == [float(t) for t in range(61)]
    f = result["grid.f"]
    assert (f.unit, f.name, len(f)) == ("Hz", "grid.f", 61) and f.values.dtype == numpy.float64
    assert numpy.asarray(f) is f.values and "grid.f" in result and [s.name for s in result] == result.variables
    assert result.timings.steps == {"grid": 60, "furnace": 12} and result.timings.last_time == 60.0
    assert 0.0 < result.timings.wall_time == result.record["wall_time_s"]
    assert seen[-1] == 60.0 and seen == sorted(seen)
    with pytest.raises(KeyError, match=r"'grid\.F' was not recorded .* did you mean 'grid\.f'"):
        result["grid.F"]


def test_values_are_results_csv_s_exactly(fmu_dist: Path, tmp_path: Path) -> None:
    result = federation.run(twins(stop=60.0), out=tmp_path / "out")
    lines = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert lines[0] == ",".join(["time", *result.variables])
    for index, line in enumerate(lines[1:]):
        row = [result.time[index]] + [result[name].values[index] for name in result.variables]
        assert line == ",".join(map(repr, map(float, row)))


def test_a_results_folder_is_claimed_as_the_cli_claims_it(fmu_dist: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = federation.run(twins(stop=10.0), out=out)
    assert result.out == out and result.record["scenario"] == str(out / "built_scenario.yaml")
    assert sorted(p.name for p in out.iterdir()) == [".federation", "built_scenario.yaml", "results.csv", "run.json"]
    with pytest.raises(federation.OutputRefused, match="holds an earlier run"):
        federation.run(twins(stop=10.0), out=out)
    assert federation.run(twins(stop=20.0), out=out, force=True, plot=True).time[-1] == 20.0
    assert (out / "results.png").is_file()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(federation.OutputRefused, match="notes.txt"):
        federation.run(twins(stop=10.0), out=out, force=True)


def test_an_invalid_scenario_raises_before_anything_is_written(fmu_dist: Path, tmp_path: Path) -> None:
    with pytest.raises(federation.ScenarioError):
        federation.run(twins(T_sett=1.0), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(federation.ConfigurationError, match="unknown mode 'mpi'"):
        federation.run(twins(), mode="mpi")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["embedded", pytest.param("grpc", marks=pytest.mark.slow)])
def test_a_failed_federation_is_a_failed_run_keeping_the_rows_before_it(fmu_dist: Path, models: Path,
                                                                        mode: str) -> None:
    result = federation.run(with_python(models, "models:Bomb", at=30.0), mode=mode)  # type: ignore[arg-type]
    assert result.status == "failed"
    assert isinstance(result.error, federation.FederationFailed)
    assert result.error.federate == "watch" and "exploded at t=30.0" in str(result.error)
    assert result.record["failure"]["federate"] == "watch" and result.record["failure"]["time_s"] == 30.0
    assert len(result.time) > 0 and result.time[-1] <= 30.0  # the rows up to its failure, none past it
    assert result.timings.last_time <= 30.0
    with pytest.raises(federation.FederationFailed, match="exploded"):
        result.raise_for_status()


@pytest.mark.slow
def test_grpc_runs_a_built_scenario_s_python_federate_to_the_embedded_bytes(fmu_dist: Path, models: Path,
                                                                              tmp_path: Path) -> None:
    """The hosts read built_scenario.yaml from the run's folder and import the model from base."""
    embedded = federation.run(with_python(models, gain=3.0), out=tmp_path / "embedded")
    grpc = federation.run(with_python(models, gain=3.0), mode="grpc", out=tmp_path / "grpc")
    assert embedded.status == grpc.status == "completed" and grpc.record["mode"] == "grpc"
    assert (tmp_path / "grpc" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
    assert grpc.units == embedded.units


@pytest.mark.slow
def test_ray_runs_a_built_scenario_s_python_federate_to_the_embedded_bytes(fmu_dist: Path, models: Path,
                                                                             tmp_path: Path) -> None:
    """Each site's host actor reads built_scenario.yaml and imports the model from base; the coordinator
    reads no model, and the units are still known (from the validation here)."""
    ray = pytest.importorskip("ray")
    from federation.runtime.ray import shutdown_site_actors

    if ray.is_initialized():
        ray.shutdown()
    try:
        embedded = federation.run(with_python(models, gain=3.0), out=tmp_path / "embedded")
        on_ray = federation.run(with_python(models, gain=3.0), mode="ray", out=tmp_path / "ray", insecure=True)
    finally:
        shutdown_site_actors()
        ray.shutdown()
    assert on_ray.status == "completed" and on_ray.record["mode"] == "ray"
    assert set(on_ray.record["placement"]) == {"utility", "furnace_maker", "operator"}
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
    assert on_ray.units == embedded.units and on_ray.units["watch.seen"] == "Hz"


def test_to_pandas_is_the_results_indexed_by_time(fmu_dist: Path) -> None:
    pandas = pytest.importorskip("pandas")
    result = federation.run(twins(stop=30.0))
    frame = result.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and frame.index.name == "time"
    assert list(frame.columns) == result.variables and frame.attrs["units"] == result.units
    assert (frame["grid.f"].to_numpy() == result["grid.f"].values).all()
    assert (frame.index.to_numpy() == result.time).all()


def test_to_pandas_without_pandas_names_the_extra(fmu_dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = federation.run(twins(stop=5.0))
    monkeypatch.setitem(sys.modules, "pandas", None)  # as when it is not installed: importing it fails
    with pytest.raises(ImportError, match=r"federation\[pandas\]"):
        result.to_pandas()


def test_inspect_gives_an_fmu_s_interface(fmu_dist: Path, tmp_path: Path) -> None:
    interface = federation.inspect(ROOT / "fmus/dist/fmi2/vehicle.fmu")
    assert isinstance(interface, federation.FederateInterface) and interface.fmi_version == "2.0"
    assert interface.outputs() == ["P_ev", "soc_mean"] and interface.inputs() == ["f_grid"]
    n_ev = interface.variables["n_ev"]
    assert isinstance(n_ev, federation.VariableInfo)
    assert (n_ev.causality, n_ev.type, n_ev.start) == ("parameter", "Integer", 100)
    assert interface.variables["P_ev"].unit == "W"
    (tmp_path / "not.fmu").write_text("text")
    with pytest.raises(federation.InterfaceError, match="not.fmu"):
        federation.inspect(tmp_path / "not.fmu")


def test_run_json_is_the_record(fmu_dist: Path, tmp_path: Path) -> None:
    result = federation.run(twins(stop=5.0), out=tmp_path / "out")
    assert dict(result.record) == json.loads((tmp_path / "out" / "run.json").read_text())
