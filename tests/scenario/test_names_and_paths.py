"""What `validate` accepts runs in every mode: names, tunables and model paths are checked as the runs use them.

- one rule for site and federation names, whatever the mode (federation.names);
- a parameter outside its site's `tunable` list is a problem of the file, not a failure at run time;
- model files and Python modules resolve against the scenario's folder, never the working directory,
  and a missing one says where it was looked for; a misspelt name gets the closest ones.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from federation.scenario import load_scenario

from .conftest import DATA, ScenarioWriter, base_scenario
from .test_scenario import assert_problem, load_error, problems_for


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[Path]:
    """The working directory is a folder that is not the scenario's."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    saved = os.getcwd()
    os.chdir(folder)
    yield folder
    os.chdir(saved)


# ------------------------------------------------------------------------------------------------------------ names

@pytest.mark.parametrize(("site", "fragment"), [
    ("util/ity", "site name 'util/ity' must be 1 to 64 letters, digits, '_', '.' or '-'"),
    ("the utility", "site name 'the utility' must be"),
    ("-utility", "not starting with '.' or '-'"),
    ("utilité", "site name 'utilité' must be"),
    ("u" * 65, "is 65 characters long"),
    ("coordinator", "'coordinator' is reserved"),
])
def test_a_site_name_grpc_or_ray_cannot_use_is_refused_in_every_mode(write_scenario: ScenarioWriter,
                                                                     site: str, fragment: str) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["site"] = site
    problems_for(write_scenario, data, "federates.furnace.site", fragment)


def test_the_longest_site_name_and_every_allowed_character_pass(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["site"] = "Steel_works.v2-" + "x" * 49
    data["federation"] = "_grid.furnace-vehicle_" + "x" * 42
    assert load_scenario(write_scenario(data)).federates["furnace"].site.endswith("x")


def test_sites_that_differ_only_in_case_are_refused(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["site"] = "Utility"
    problems_for(write_scenario, data, "federates.furnace.site", "site 'Utility' differs from site 'utility' only in case")


@pytest.mark.parametrize(("federation", "fragment"), [
    ("grid/furnace", "federation name 'grid/furnace' must be"),
    ("grid[1]", "federation name 'grid[1]' must be"),  # a glob to the policy: it would not match itself
    ("f" * 51, ""),
    ("f" * 65, "is 65 characters long"),
])
def test_the_federation_name_follows_the_same_rule(write_scenario: ScenarioWriter, federation: str,
                                                   fragment: str) -> None:
    data = base_scenario()
    data["federation"] = federation
    if fragment:
        problems_for(write_scenario, data, "federation", fragment)
    else:
        load_scenario(write_scenario(data))


def test_certificates_take_every_name_validate_accepts(tmp_path: Path) -> None:
    """The longest names pass `certs init` too (the CA's common name once held the federation name plus 14)."""
    from federation.security.certs import CertificateError, init_ca

    init_ca(tmp_path / "ok", "f" * 64, ["s" * 64, "a.b-c_d"])
    with pytest.raises(CertificateError, match="must be 1 to 64 letters"):
        init_ca(tmp_path / "bad", "grid", ["a b"])


# --------------------------------------------------------------------------------------------------------- tunables

def test_a_parameter_outside_the_tunable_list_is_a_problem_of_the_file(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["tunable"] = ["P_max"]
    error = problems_for(write_scenario, data, "federates.furnace.parameters.T_set",
                         "'T_set' is not in federates.furnace.tunable (P_max)", "site 'steelworks' does not let")
    assert len(error.problems) == 1, str(error)


def test_an_override_outside_the_tunable_list_is_named_with_the_override(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["tunable"] = ["T_set"]
    path = write_scenario(data)
    load_scenario(path, {"furnace.T_set": 1300.0})
    error = load_error(path, {"furnace.P_max": 5e6})
    assert_problem(error, "federates.furnace.parameters.P_max", "not in federates.furnace.tunable (T_set)",
                   "with the override furnace.P_max=5000000.0")


def test_an_empty_tunable_list_lets_nothing_be_set(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["tunable"] = []
    problems_for(write_scenario, data, "federates.furnace.parameters.T_set", "tunable (empty)")


# ------------------------------------------------------------------------------------------------------------ paths

def test_a_missing_fmu_says_which_folder_it_was_resolved_against(write_scenario: ScenarioWriter,
                                                                 scenario_dir: Path, elsewhere: Path) -> None:
    data = base_scenario()
    data["federates"]["grid"]["fmu"] = "fmus/grid.fmu"  # where it is from the working directory, not the scenario
    (elsewhere / "fmus").mkdir()
    shutil.copy(scenario_dir.parent / "fmus" / "grid.fmu", elsewhere / "fmus" / "grid.fmu")
    error = problems_for(write_scenario, data, "federates.grid.fmu",
                         "FMU 'fmus/grid.fmu' not found: resolved against the scenario's folder "
                         f"{scenario_dir.resolve()} it is {scenario_dir.resolve() / 'fmus' / 'grid.fmu'}, "
                         "which does not exist",
                         f"there is one at {elsewhere.resolve() / 'fmus' / 'grid.fmu'}, relative to the working "
                         "directory, but model paths are relative to the scenario file")
    assert len([p for p in error.problems if p.key.startswith("federates.grid")]) == 1, str(error)


def test_a_missing_replay_csv_and_an_absolute_path_say_what_was_tried(write_scenario: ScenarioWriter,
                                                                      scenario_dir: Path, tmp_path: Path) -> None:
    data = base_scenario()
    data["federates"]["meter"]["replay"] = "data/measurd.csv"
    data["federates"]["vehicle"]["fmu"] = str(tmp_path / "nowhere" / "vehicle.fmu")
    error = problems_for(write_scenario, data, "federates.meter.replay",
                         "replay CSV 'data/measurd.csv' not found: resolved against the scenario's folder "
                         f"{scenario_dir.resolve()} it is {scenario_dir.resolve() / 'data' / 'measurd.csv'}")
    assert_problem(error, "federates.vehicle.fmu",
                   f"FMU '{tmp_path / 'nowhere' / 'vehicle.fmu'}' not found: {tmp_path / 'nowhere' / 'vehicle.fmu'} "
                   "does not exist")


# ----------------------------------------------------------------------------------------------------------- modules

def test_a_python_module_resolves_beside_the_scenario_and_never_from_the_working_directory(
        write_scenario: ScenarioWriter, scenario_dir: Path, elsewhere: Path) -> None:
    data = base_scenario()
    assert load_scenario(write_scenario(data)).interfaces["ems"].model_name == "Dispatcher"  # from elsewhere
    shutil.copy(DATA / "toy_ems.py", elsewhere / "toy_cwd_only.py")  # only in the working directory
    data["federates"]["ems"]["python"] = "toy_cwd_only:Dispatcher"
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.ems.python", f"module 'toy_cwd_only' not found in {scenario_dir.resolve()}, "
                                                  "nor among installed packages")


def test_two_scenarios_with_modules_of_one_name_each_get_their_own(write_scenario: ScenarioWriter,
                                                                   scenario_dir: Path, tmp_path: Path) -> None:
    """In one process (a sweep worker, a Ray actor), a module imported for one scenario is not another's."""
    first = load_scenario(write_scenario(base_scenario()))
    other = tmp_path / "other"
    shutil.copytree(scenario_dir, other)
    (other / "toy_ems.py").write_text((DATA / "toy_ems.py").read_text().replace('"alarm": "1"', '"alarm2": "1"'))
    data = base_scenario()
    for name in ("grid", "furnace", "vehicle"):
        data["federates"][name]["fmu"] = str(scenario_dir.parent / "fmus" / f"{name}.fmu")
    (other / "scenario.yaml").write_text(yaml.safe_dump(data))
    second = load_scenario(other / "scenario.yaml")
    assert "alarm" in first.interfaces["ems"].outputs()
    assert "alarm2" in second.interfaces["ems"].outputs()


def test_a_dotted_module_resolves_from_the_top_of_the_scenario_folders_package(tmp_path: Path,
                                                                              scenario_dir: Path) -> None:
    """A scenario inside a package can name its module as the package does (the flagship once did)."""
    package = tmp_path / "toy_pkg" / "models"
    package.mkdir(parents=True)
    for folder in (package.parent, package):
        (folder / "__init__.py").write_text("")
    shutil.copy(DATA / "toy_ems.py", package / "toy_ems.py")
    shutil.copytree(scenario_dir / "data", package / "data")
    data = base_scenario()
    for name in ("grid", "furnace", "vehicle"):
        data["federates"][name]["fmu"] = str(scenario_dir.parent / "fmus" / f"{name}.fmu")
    data["federates"]["ems"]["python"] = "toy_pkg.models.toy_ems:Dispatcher"
    (package / "scenario.yaml").write_text(yaml.safe_dump(data))
    scenario = load_scenario(package / "scenario.yaml")
    assert scenario.search_paths() == [package, tmp_path]
    assert scenario.interfaces["ems"].model_name == "Dispatcher"


def test_a_module_that_imports_a_missing_one_is_told_apart(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    (scenario_dir / "toy_needy.py").write_text("import toy_not_installed\n")
    data = base_scenario()
    data["federates"]["ems"]["python"] = "toy_needy:Dispatcher"
    del data["federates"]["ems"]["parameters"]
    problems_for(write_scenario, data, "federates.ems.python",
                 "module 'toy_needy' cannot be imported: No module named 'toy_not_installed'")


# ---------------------------------------------------------------------------------------------------- did you mean

def test_an_unknown_name_gets_the_closest_names_wherever_it_is_written(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["expose"] = ["f", "v_pc"]
    data["federates"]["grid"]["parameters"] = {"h": 5.0}
    data["federates"]["furnace"]["tunable"] = ["T_sett", "T_set"]
    data["connections"] = ["furnace.P_eel -> grid.P_furnace", "grid.f -> furnce.f_grid"]
    data["interactions"]["DemandResponse"]["to"] = {"furnace.curtial": "curtail"}
    data["output"] = {"variables": ["grid.F"]}
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.grid.expose[1]", "no variable 'v_pc'; did you mean 'v_pcc'?")
    assert_problem(error, "federates.grid.parameters.h", "'h' is not a parameter", "did you mean 'H'?")
    assert_problem(error, "federates.furnace.tunable[0]", "did you mean 'T_set'")
    assert_problem(error, "connections[0]", "no variable 'P_eel'; did you mean 'P_el'")
    assert_problem(error, "connections[1]", "unknown federate 'furnce'; did you mean 'furnace'?")
    assert_problem(error, "interactions.DemandResponse.to.furnace.curtial", "did you mean 'curtail'?")
    assert_problem(error, "output.variables[0]", "no variable 'F'; did you mean 'f'")


def test_a_module_found_where_it_came_from_is_imported_once(write_scenario: ScenarioWriter,
                                                            scenario_dir: Path) -> None:
    """This scenario's own module, an installed package and the standard library stay the modules everyone has."""
    import json
    import sys

    import adapters
    from adapters.python.loader import load_python_class
    from federation.kinds.interface import InterfaceError

    path = write_scenario()
    load_scenario(path)
    own = sys.modules["toy_ems"]
    load_scenario(path)
    assert sys.modules["toy_ems"] is own  # not executed again at every load
    load_python_class("adapters.python:StepResult", [scenario_dir])
    assert sys.modules["adapters"] is adapters  # installed (here: editable), found where it came from
    (scenario_dir / "json.py").write_text("class Dispatcher:\n    pass\n")
    with pytest.raises(InterfaceError, match="has no attribute 'Dispatcher'"):
        load_python_class("json:Dispatcher", [scenario_dir])  # as import_module always read it
    assert sys.modules["json"] is json
