"""Scenarios from Python: loaded with overrides as the CLI gives them, or built in code, equivalent to the YAML."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import federation
from federation.scenario import Scenario as Spec

from .conftest import FLAGSHIP, NOTEBOOK, ROOT, twins, with_python


def notebook_scenario() -> federation.Scenario:
    """The flagship as the notebook example builds it: its cells run up to the one that builds it."""
    namespace: dict[str, Any] = {"__file__": str(NOTEBOOK), "__name__": "notebook"}
    for cell in re.split(r"^# %%.*$", NOTEBOOK.read_text(), flags=re.M):
        exec(compile(cell, str(NOTEBOOK), "exec"), namespace)
        if "scenario" in namespace:
            return namespace["scenario"]
    raise AssertionError("the notebook builds no `scenario`")


def canonical(spec: Spec) -> dict[str, Any]:
    """What a validated scenario means, with model paths resolved (a file's are relative, a built one's absolute)."""
    data = spec.spec.model_dump(exclude={"base": True, "output": {"dir"}})
    for name, entry in data["federates"].items():
        if (path := spec.model_of(name).path) is not None:
            entry[spec.federates[name].kind] = path
    data["search_paths"] = spec.search_paths()
    data["interfaces"] = spec.interfaces
    data["recorded"] = spec.recorded()
    data["shared"] = spec.shared()
    return data


def test_the_flagship_built_in_code_is_the_flagship_file(fmu_dist: Path) -> None:
    built = notebook_scenario().validate()
    loaded = federation.Scenario.load(FLAGSHIP).validate()
    assert canonical(built) == canonical(loaded)
    assert built.shared_digest() == loaded.shared_digest()


@pytest.mark.slow
def test_the_flagship_built_in_code_gives_the_file_s_bytes(fmu_dist: Path, tmp_path: Path) -> None:
    built = federation.run(notebook_scenario(), out=tmp_path / "built")
    loaded = federation.run(FLAGSHIP, out=tmp_path / "loaded")
    assert built.status == loaded.status == "completed"
    assert (tmp_path / "built" / "results.csv").read_bytes() == (tmp_path / "loaded" / "results.csv").read_bytes()
    assert built.record["scenario"] == str(tmp_path / "built" / "built_scenario.yaml")
    assert loaded.record["scenario"] == str(FLAGSHIP)


def test_load_takes_the_cli_s_overrides_as_values(fmu_dist: Path, tmp_path: Path) -> None:
    overrides = {"furnace.T_set": 1250.0, "vehicle.n_ev": 50, "time.stop": 600.0}
    sc = federation.Scenario.load(FLAGSHIP, overrides)
    assert sc.path == FLAGSHIP and sc.overrides == overrides
    spec = sc.validate()
    assert spec.time.stop == 600.0
    assert spec.federates["furnace"].parameters["T_set"] == 1250.0 and spec.federates["vehicle"].parameters["n_ev"] == 50
    result = federation.run(sc, out=tmp_path / "api")
    subprocess.run([sys.executable, "-m", "federation.cli", "run", str(FLAGSHIP), "--out", str(tmp_path / "cli"),
                    "--no-plot", "--stop", "600", "--set", "furnace.T_set=1250", "--set", "vehicle.n_ev=50"],
                   check=True, capture_output=True, cwd=tmp_path)
    assert result.status == "completed" and len(result.time) == 121
    assert (tmp_path / "api" / "results.csv").read_bytes() == (tmp_path / "cli" / "results.csv").read_bytes()


def test_a_bad_override_is_a_problem_naming_it(fmu_dist: Path) -> None:
    with pytest.raises(federation.ScenarioError) as caught:
        federation.Scenario.load(FLAGSHIP, {"furnace.T_sett": 1.0, "nobody.x": 1})
    keys = {p.key for p in caught.value.problems}
    assert keys == {"federates.furnace.parameters.T_sett", "overrides.nobody.x"}


def test_a_built_scenario_reports_every_problem_keyed_as_in_yaml(fmu_dist: Path) -> None:
    sc = twins(T_sett=1.0)
    sc.connect("grid.v_pcc", "furnace.nothing")
    sc.record(["grid.f", "furnace.T_chamber"])
    with pytest.raises(federation.ScenarioError) as caught:
        sc.validate()
    problems = {p.key: p.message for p in caught.value.problems}
    assert set(problems) == {"federates.furnace.parameters.T_sett", "connections[2]", "output.variables[1]"}
    assert "did you mean 'T_set'" in problems["federates.furnace.parameters.T_sett"]
    assert str(caught.value).startswith("<scenario 'two-twins' built in Python>: ")


def test_the_builder_refuses_at_once_what_it_cannot_hold(fmu_dist: Path) -> None:
    sc = twins()
    with pytest.raises(ValueError, match="federate 'grid' is already in scenario 'two-twins'"):
        sc.add_fmu("grid", "x.fmu", site="s")
    with pytest.raises(ValueError, match="is not a 'federate.variable' reference"):
        sc.connect("grid", "furnace.f_grid")
    sc.add_interaction("Dr", parameters=["curtail"])
    with pytest.raises(ValueError, match="interaction 'Dr' is already"):
        sc.add_interaction("Dr", parameters=["x"])

    class Local:
        """Defined here, in a test module: importable."""

    assert twins().add_python("p", Local, site="s").to_dict()["federates"]["p"]["python"] == f"{__name__}:{Local.__qualname__}"
    Local.__module__ = "__main__"
    with pytest.raises(ValueError, match="defined in __main__"):
        twins().add_python("p", Local, site="s")


def test_relative_paths_resolve_against_base_made_absolute_at_once(fmu_dist: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "fmus")
    sc = federation.Scenario("cwd", stop=10.0, step=1.0)  # base: the working directory, now
    sc.add_fmu("grid", "dist/fmi3/grid.fmu", site="a")
    monkeypatch.chdir(tmp_path)
    assert sc.base == ROOT / "fmus"
    assert sc.to_dict()["federates"]["grid"]["fmu"] == str(ROOT / "fmus" / "dist" / "fmi3" / "grid.fmu")
    assert federation.run(sc).status == "completed"


def test_a_loaded_scenario_added_to_becomes_a_built_one(fmu_dist: Path, models: Path) -> None:
    sc = federation.Scenario.load(FLAGSHIP, {"time.stop": 120.0})
    sc.add_python("watch", "models:Echo", site="operator2", step=10.0).connect("grid.f", "watch.f")
    assert sc.path is None and sc.overrides == {} and sc.base == FLAGSHIP.parent
    with pytest.raises(federation.ScenarioError, match="models:Echo"):  # imported from base: the flagship's folder
        sc.validate()
    sc = federation.Scenario.load(FLAGSHIP, {"time.stop": 120.0})
    sc.add_replay("measured", ROOT / "tests/scenario/data/measured.csv", site="lab")
    sc.record([*sc.to_dict()["output"]["variables"], "measured.P_meas"])
    result = federation.run(sc)
    assert result.status == "completed" and result.time[-1] == 120.0 and result.units["measured.P_meas"] == "W"


def test_a_saved_scenario_runs_with_the_cli_as_in_python(fmu_dist: Path, models: Path, tmp_path: Path) -> None:
    """The YAML of a built scenario, saved anywhere, means the same: its models and modules are found by base."""
    sc = with_python(models, gain=2.0)
    saved = sc.save(tmp_path / "elsewhere.yaml")
    assert federation.Scenario.load(saved).validate().spec.model_dump(exclude={"base"}) == \
        sc.validate().spec.model_dump(exclude={"base"})
    subprocess.run([sys.executable, "-m", "federation.cli", "run", str(saved), "--out", str(tmp_path / "cli"),
                    "--no-plot"], check=True, capture_output=True, cwd=tmp_path)
    result = federation.run(sc, out=tmp_path / "api")
    assert (tmp_path / "api" / "results.csv").read_bytes() == (tmp_path / "cli" / "results.csv").read_bytes()
    assert 99.0 < result["watch.seen"].values[-1] < 101.0  # twice the grid's 50 Hz: the parameter was given


def test_numpy_values_are_plain_numbers_in_the_yaml(fmu_dist: Path) -> None:
    numpy = pytest.importorskip("numpy")
    sc = twins(T_set=numpy.float64(1250.0), P_max=numpy.int64(9_000_000))
    assert "T_set: 1250.0" in sc.to_yaml() and "P_max: 9000000" in sc.to_yaml()
    assert sc.validate().federates["furnace"].parameters == {"T_set": 1250.0, "P_max": 9_000_000}


def test_any_installed_kind_is_added_by_its_name(fmu_dist: Path, tmp_path: Path) -> None:
    """`add` is what add_fmu and add_replay are made of: a kind another package installs is built the same way."""
    generic = federation.Scenario("kinds", stop=10.0, step=1.0, base=tmp_path)
    generic.add("grid", "fmu", fmu_dist / "fmi3" / "grid.fmu", site="utility", expose=["f"])
    named = federation.Scenario("kinds", stop=10.0, step=1.0, base=tmp_path)
    named.add_fmu("grid", fmu_dist / "fmi3" / "grid.fmu", site="utility", expose=["f"])
    assert generic.to_yaml() == named.to_yaml()
    with pytest.raises(federation.ConfigurationError, match="no federate kind 'modelica'"):
        generic.add("plant", "modelica", "plant.mo", site="utility")
    assert "plant" not in generic.to_yaml()
