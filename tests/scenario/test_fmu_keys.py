"""An FMU federate's keys `interface`, `solver` and `tolerance` (Model Exchange): their values are checked, each
error naming its key; they are refused for other kinds, and where the FMU cannot honour them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import fmpy
import pytest

from federation.kinds import Model, kind
from federation.scenario import load_scenario

from .conftest import ScenarioWriter, base_scenario, make_fmu
from .test_scenario import problems_for


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("solver", "rk4", "expected one of CVode, Euler, got 'rk4'"),
    ("solver", 3, "expected one of CVode, Euler, got 3"),
    ("interface", "cs", "expected one of co_simulation, model_exchange, got 'cs'"),
    ("tolerance", 0, "a relative tolerance is a number between 0 and 1, exclusive (say 1e-6), got 0"),
    ("tolerance", 2.0, "got 2.0"),
    ("tolerance", "tight", "got 'tight'"),
    ("tolerance", True, "got True"),
])
def test_bad_values_are_refused_naming_the_key(write_scenario: ScenarioWriter, scenario_dir: Path, key: str,
                                                value: Any, fragment: str) -> None:
    data = base_scenario()
    data["federates"]["grid"][key] = value
    problems_for(write_scenario, data, f"federates.grid.{key}", fragment)


def test_values_are_read_as_fmpy_names_them(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "me.fmu", "", co_simulation=False)
    data = base_scenario()
    data["federates"] = {"m": {"fmu": "me.fmu", "site": "lab", "solver": "cvode", "tolerance": "1e-7",
                               "interface": "Model_Exchange"}}
    data["connections"], data["interactions"] = [], {}
    data.pop("output", None)
    scenario = load_scenario(write_scenario(data))
    spec = scenario.spec.federates["m"]
    assert (spec.solver, spec.tolerance, spec.interface) == ("CVode", 1e-7, "model_exchange")
    assert dict(scenario.model_of("m").options) == {"interface": "model_exchange", "solver": "CVode", "tolerance": 1e-7}


def test_other_kinds_do_not_take_them(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    data = base_scenario()
    data["federates"]["ems"].update(solver="Euler", tolerance=1e-6)
    problems_for(write_scenario, data, "federates.ems", "solver, tolerance: only FMU federates take these keys "
                                                       "(this one is 'python')")


def test_a_solver_for_an_fmu_that_runs_as_co_simulation_is_refused(write_scenario: ScenarioWriter,
                                                                    scenario_dir: Path) -> None:
    data = base_scenario()
    data["federates"]["grid"]["solver"] = "Euler"
    problems_for(write_scenario, data, "federates.grid.solver", "only Model Exchange FMUs are integrated by a solver",
                 "add `interface: model_exchange`")
    data = base_scenario()
    data["federates"]["grid"]["interface"] = "model_exchange"
    problems_for(write_scenario, data, "federates.grid.interface",
                 "the FMU does not offer Model Exchange (it offers co-simulation only)")


def test_the_probe_checks_the_model_exchange_functions(write_scenario: ScenarioWriter, scenario_dir: Path,
                                                       tmp_path: Path) -> None:
    """A library with the co-simulation entry points only: fine as co-simulation, refused as Model Exchange."""
    source = tmp_path / "cs_only.c"
    source.write_text("".join(f"int {name}(void) {{ return 0; }}\n" for name in
                              ("fmi2Instantiate", "fmi2SetupExperiment", "fmi2DoStep", "fmi2FreeInstance")))
    library = tmp_path / f"toy{fmpy.sharedLibraryExtension}"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    both = make_fmu(scenario_dir / "both.fmu", "", interfaces=["ModelExchange", "CoSimulation"],
                    library=library.read_bytes())
    model, fmu_kind = Model("m", "lab", "fmu", str(both), both, (), {}), kind("fmu")
    assert fmu_kind.probe(model, fmu_kind.interface(model), load=True) is None  # co-simulation: all there
    data = base_scenario()
    data["federates"]["grid"].update(fmu="both.fmu", interface="model_exchange")
    problems_for(write_scenario, data, "federates.grid.fmu", "does not export fmi2EnterEventMode, fmi2NewDiscreteStates")
