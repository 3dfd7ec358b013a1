"""Scenario loading: a valid scenario's defaults and one test per validation problem."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import fmpy
import pytest

from federation.scenario import Connection, Problem, ScenarioError, load_scenario
from federation.runtime.assembly import wiring_of

from .conftest import ScenarioWriter, base_scenario, corrupt_fmu, make_fmu, twin_library


def load_error(path: Path, overrides: Mapping[str, object] | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


def assert_problem(error: ScenarioError, key: str, *fragments: str) -> Problem:
    """The error has a problem at key whose message contains every fragment; str() names file and key."""
    matching = [p for p in error.problems if p.key == key
                and all(f.lower() in p.message.lower() for f in fragments)]
    assert matching, f"no problem {key!r} {fragments!r} in:\n{error}"
    assert f"{error.path}: {key}: {matching[0].message}" in str(error).splitlines()
    return matching[0]


def problems_for(write: ScenarioWriter, data: dict[str, Any], key: str, *fragments: str) -> ScenarioError:
    error = load_error(write(data))
    assert_problem(error, key, *fragments)
    return error


# ------------------------------------------------------------------------------------------------------- happy path

def test_valid_scenario_defaults(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    path = write_scenario()
    scenario = load_scenario(path)
    assert scenario.path == path.resolve()
    assert scenario.federation == "grid-furnace-vehicle"
    assert scenario.step_of("grid") == 0.1 and scenario.step_of("furnace") == 1.0
    assert scenario.exposed("grid") == ["f", "v_pcc"]
    # several sites: without an expose list, only what the scenario connects (or records) is shared
    assert scenario.exposed("furnace") == ["P_el"] and scenario.exposed("vehicle") == ["P_ev"]
    assert scenario.exposed("meter") == [] and scenario.exposed("ems") == []
    assert scenario.recorded() == [("grid", "f"), ("grid", "v_pcc"), ("furnace", "P_el"), ("vehicle", "P_ev")]
    assert scenario.fmu_path("grid") == (scenario_dir.parent / "fmus" / "grid.fmu").resolve()
    assert scenario.fmu_path("grid").is_absolute()
    assert scenario.replay_path("meter") == (scenario_dir / "data" / "measured.csv").resolve()
    assert scenario.search_paths() == [scenario_dir.resolve()]  # never the working directory
    assert [str(c) for c in scenario.inputs_of("grid")] == ["furnace.P_el -> grid.P_furnace",
                                                          "vehicle.P_ev -> grid.P_ev"]
    assert scenario.connections[1] == Connection("vehicle", "P_ev", "grid", "P_ev")
    assert scenario.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert scenario.output.dir == Path("results") and scenario.output.variables is None
    assert scenario.federates["grid"].kind == "fmu" and scenario.federates["ems"].kind == "python"
    assert scenario.federates["meter"].kind == "replay"
    assert scenario.interfaces["grid"].fmi_version == "3.0" and scenario.interfaces["furnace"].fmi_version == "2.0"
    assert scenario.interfaces["vehicle"].variables["n_ev"].type == "Integer"
    assert scenario.federates["vehicle"].parameters == {"n_ev": 50}
    assert scenario.interactions["DemandResponse"].to == {"furnace.curtail": "curtail"}


def test_overrides_and_output_variables(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["output"] = {"dir": "out", "variables": ["furnace.T_chamber", "grid.f"]}
    scenario = load_scenario(write_scenario(data), {"furnace.T_set": 1200, "time.stop": 3600, "grid.D": 2.0})
    assert scenario.time.stop == 3600.0
    assert scenario.federates["furnace"].parameters["T_set"] == 1200
    assert scenario.federates["grid"].parameters == {"H": 5.0, "D": 2.0}
    assert scenario.recorded() == [("furnace", "T_chamber"), ("grid", "f")]
    assert scenario.output.dir == Path("out")
    assert scenario.overrides == {"furnace.T_set": 1200, "time.stop": 3600, "grid.D": 2.0}


def test_bad_overrides(write_scenario: ScenarioWriter) -> None:
    error = load_error(write_scenario(), {"boiler.T_set": 1, "furnace.T_sett": 1, "time.stop": -5})
    assert_problem(error, "overrides.boiler.T_set", "unknown federate")
    assert_problem(error, "federates.furnace.parameters.T_sett", "not a parameter")
    assert_problem(error, "time.stop", "greater than start")


def test_fractional_step_divides_with_integer_nanoseconds(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["time"] = {"start": 0.3, "stop": 86400.3, "step": 0.1}  # float modulo would say it does not divide
    assert load_scenario(write_scenario(data)).time.step == 0.1


def test_problems_are_all_reported_at_once(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"].append("grid.nope -> furnace.f_grid")
    data["federates"]["furnace"]["parameters"]["bogus"] = 1.0
    data["time"]["step"] = 0.7
    error = load_error(write_scenario(data))
    assert {p.key for p in error.problems} >= {"connections[5]", "federates.furnace.parameters.bogus", "time.step"}
    assert len(str(error).splitlines()) == len(error.problems)


def test_structural_and_cross_check_problems_together(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["outputs"] = ["P_el"]  # structural: unknown key
    data["federates"]["meter"]["site"] = ""  # structural
    data["time"]["step"] = "fast"  # structural
    data["connections"].append(42)  # structural
    data["connections"].append("vehicle.P_nope -> grid.P_furnace")  # cross-check on entries that parsed
    data["federates"]["grid"]["parameters"]["bogus"] = 1.0
    data["federates"]["grid"]["step"] = -1.0
    data["output"] = {"variables": ["ems.nope"]}
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.furnace.outputs", "unknown key")
    assert_problem(error, "federates.meter.site", "must not be empty")
    assert_problem(error, "time.step", "number", "fast")
    assert_problem(error, "connections[5]", "a connection is")
    assert_problem(error, "connections[6]", "federate 'vehicle' has no variable 'P_nope'")
    assert_problem(error, "connections[6]", "already fed by connections[0]")
    assert_problem(error, "federates.grid.parameters.bogus", "not a parameter")
    assert_problem(error, "federates.grid.step", "must be > 0")
    assert_problem(error, "output.variables[0]", "federate 'ems' has no variable 'nope'")
    # References to the federates whose entries did not parse are not blamed on the references.
    assert not [p for p in error.problems if "unknown federate" in p.message], str(error)
    assert len(error.problems) == 9, str(error)


def test_no_reference_blamed_when_federates_do_not_parse(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"] = ["grid", "furnace"]
    data["interactions"]["DemandResponse"]["publishers"] = ["ems"]
    data["connections"].append("grid.f -> grid.f")
    error = load_error(write_scenario(data))
    assert_problem(error, "federates", "dictionary")
    assert_problem(error, "connections[5]", "connects federate 'grid' to itself")
    assert len(error.problems) == 2, str(error)


@pytest.mark.parametrize(("where", "key"), [("time", "time.step"), ("time", "time.stop"),
                                            ("grid", "federates.grid.step")])
def test_boolean_is_not_a_number_of_seconds(write_scenario: ScenarioWriter, where: str, key: str) -> None:
    data = base_scenario()
    field = key.rsplit(".", 1)[1]
    (data["time"] if where == "time" else data["federates"]["grid"])[field] = True
    problems_for(write_scenario, data, key, "expected a number of seconds, got true")


def test_yaml_exponent_without_dot_is_still_a_number(write_scenario: ScenarioWriter) -> None:
    text = write_scenario().read_text().replace("stop: 86400.0", "stop: 864e2")
    assert load_scenario(write_scenario(text=text)).time.stop == 86400.0


# ---------------------------------------------------------------------------------------------- syntax and structure

def test_yaml_syntax_error_reports_line(write_scenario: ScenarioWriter) -> None:
    error = load_error(write_scenario(text="federation: x\ntime: {start: 0, stop: 1\nfederates: {}\n"))
    problem = assert_problem(error, "(yaml)", "syntax", "line 3")
    assert str(error).startswith(f"{error.path}: (yaml): ")
    assert problem.message


def test_duplicate_yaml_key(write_scenario: ScenarioWriter) -> None:
    error = load_error(write_scenario(text="federation: a\nfederation: b\n"))
    assert_problem(error, "(yaml)", "duplicate key 'federation'", "line 2")


def test_missing_scenario_file(tmp_path: Path) -> None:
    assert_problem(load_error(tmp_path / "nope.yaml"), "(file)", "cannot read")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", ""])
def test_top_level_not_a_mapping(write_scenario: ScenarioWriter, text: str) -> None:
    assert_problem(load_error(write_scenario(text=text)), "(root)", "must be a mapping")


def test_missing_required_keys(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    del data["federation"], data["time"]["stop"], data["federates"]["grid"]["site"]
    error = problems_for(write_scenario, data, "federation", "required key is missing")
    assert_problem(error, "time.stop", "missing")
    assert_problem(error, "federates.grid.site", "missing")


def test_wrong_types(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["time"]["step"] = "fast"
    data["federates"]["grid"]["parameters"]["H"] = [1, 2]
    data["connections"] = {"a": 1}
    error = problems_for(write_scenario, data, "time.step", "number", "fast")
    assert_problem(error, "federates.grid.parameters.H", "grid.H is a scalar; got a list [1, 2]")  # arrays take lists
    assert_problem(error, "connections", "list")


def test_unknown_keys_at_any_level(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["colour"] = "blue"
    data["time"]["dt"] = 1
    data["federates"]["grid"]["colour"] = "red"
    data["interactions"]["DemandResponse"]["priority"] = 1
    data["output"] = {"format": "csv"}
    error = problems_for(write_scenario, data, "colour", "unknown key")
    for key in ("time.dt", "federates.grid.colour", "interactions.DemandResponse.priority", "output.format"):
        assert_problem(error, key, "unknown key")


def test_exactly_one_federate_source(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["python"] = "toy_ems:Dispatcher"
    del data["federates"]["meter"]["replay"]
    error = problems_for(write_scenario, data, "federates.grid", "exactly one", "fmu, python")
    assert_problem(error, "federates.meter", "exactly one")


def test_malformed_connection_strings(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"] += ["grid.f => furnace.f_grid", "gridf -> furnace.f_grid", {"from": "grid.f"}, 42]
    error = problems_for(write_scenario, data, "connections[5]", "not of the form")
    assert_problem(error, "connections[6]", "not a 'federate.variable' reference")
    assert_problem(error, "connections[7]", "'from' and 'to'")
    assert_problem(error, "connections[8]", "a connection is")


def test_federate_name_must_be_identifier(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["my-meter"] = data["federates"].pop("meter")
    problems_for(write_scenario, data, "federates.my-meter", "not an identifier")


def test_owner_and_federation_must_not_be_empty(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federation"] = "  "
    data["federates"]["grid"]["site"] = ""
    error = problems_for(write_scenario, data, "federation", "must not be empty")
    assert_problem(error, "federates.grid.site", "must not be empty")


# ------------------------------------------------------------------------------------------------------------- time

@pytest.mark.parametrize(("time", "grid_step", "key", "fragment"), [
    ({"stop": 10.0, "step": 0.0}, None, "time.step", "must be > 0"),
    ({"stop": 10.0, "step": -1.0}, None, "time.step", "must be > 0"),
    ({"start": 5.0, "stop": 5.0, "step": 1.0}, None, "time.stop", "greater than start"),
    ({"start": 5.0, "stop": 1.0, "step": 1.0}, None, "time.stop", "greater than start"),
    ({"stop": 10.0, "step": 1.0}, 0.0, "federates.grid.step", "must be > 0"),
    ({"stop": 10.0, "step": 0.3}, None, "time.step", "does not divide"),
    ({"stop": 10.0, "step": 1.0}, 0.3, "federates.grid.step", "does not divide"),
])
def test_time_problems(write_scenario: ScenarioWriter, time: dict[str, float], grid_step: float | None, key: str,
                       fragment: str) -> None:
    data = base_scenario()
    data["time"] = time
    data["federates"]["grid"]["step"] = grid_step
    problems_for(write_scenario, data, key, fragment)


# ---------------------------------------------------------------------------------------------- unknown references

def test_unknown_federate_or_variable_in_connections(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"] += ["boiler.P -> grid.P_furnace", "furnace.P_gas -> ems.f", "grid.v_pcc -> ems.volts"]
    error = problems_for(write_scenario, data, "connections[5]", "unknown federate 'boiler'")
    assert_problem(error, "connections[6]", "no variable 'P_gas'")
    assert_problem(error, "connections[7]", "'ems' has no variable 'volts'")


def test_unknown_references_in_output(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["output"] = {"variables": ["grid.f", "boiler.T", "grid.nope", "grid"]}
    error = problems_for(write_scenario, data, "output.variables[1]", "unknown federate 'boiler'")
    assert_problem(error, "output.variables[2]", "no variable 'nope'")
    assert_problem(error, "output.variables[3]", "not a 'federate.variable' reference")


def test_unknown_references_in_interactions(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["interactions"]["Shed"] = {"parameters": ["amount"], "publishers": ["ems", "dso"],
                                    "to": {"boiler.shed": "amount", "furnace.shed": "amount"}}
    error = problems_for(write_scenario, data, "interactions.Shed.publishers[1]", "unknown publisher", "dso")
    assert_problem(error, "interactions.Shed.to.boiler.shed", "unknown federate 'boiler'")
    assert_problem(error, "interactions.Shed.to.furnace.shed", "no variable 'shed'")


def test_output_variable_listed_twice(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["output"] = {"variables": ["grid.f", "furnace.P_el", "grid.f"]}
    problems_for(write_scenario, data, "output.variables[2]", "grid.f is already recorded by output.variables[0]")


def test_connection_from_a_federate_to_itself(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"].remove("furnace.P_el -> grid.P_furnace")
    data["connections"].append("grid.f -> grid.P_furnace")
    problems_for(write_scenario, data, "connections[4]", "grid.f -> grid.P_furnace", "'grid' to itself")


def test_unknown_variable_in_expose(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["expose"] = ["f", "rocof"]
    problems_for(write_scenario, data, "federates.grid.expose[1]", "no variable 'rocof'")


def test_unknown_parameter(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["parameters"]["inertia"] = 4.0
    data["federates"]["ems"]["parameters"]["gain"] = 1.0
    data["federates"]["meter"]["parameters"] = {"scale": 2.0}
    error = problems_for(write_scenario, data, "federates.grid.parameters.inertia", "not a parameter", "no such")
    assert_problem(error, "federates.ems.parameters.gain", "not a parameter")
    assert_problem(error, "federates.meter.parameters.scale", "not a parameter")


# --------------------------------------------------------------------------------------------------------- exposure

def test_connection_from_unexposed_output(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["expose"] = ["v_pcc"]
    error = problems_for(write_scenario, data, "connections[2]", "grid.f is not exposed")
    assert_problem(error, "connections[3]", "not exposed")


def test_output_variable_not_exposed(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["furnace"]["expose"] = ["P_el"]
    data["output"] = {"variables": ["furnace.T_chamber", "furnace.f_grid"]}
    error = problems_for(write_scenario, data, "output.variables[0]", "not exposed")
    assert_problem(error, "output.variables[1]", "not an output")


def test_expose_lists_a_non_output(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["expose"] = ["f", "P_ev", "H"]
    error = problems_for(write_scenario, data, "federates.grid.expose[1]", "not an output", "'input'")
    assert_problem(error, "federates.grid.expose[2]", "not an output", "'parameter'")


# ----------------------------------------------------------------------------------------------------- input drivers

def test_input_fed_by_two_connections(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"].append("vehicle.P_ev -> grid.P_furnace")
    problems_for(write_scenario, data, "connections[5]", "grid.P_furnace is already fed by connections[0]")


def test_input_fed_by_connection_and_interaction(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"].append("ems.alarm -> furnace.curtail")
    problems_for(write_scenario, data, "interactions.DemandResponse.to.furnace.curtail",
                 "already fed by connections[5]")


# ------------------------------------------------------------------------------------------------ causality / type

def test_causality_mismatch(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["connections"] += ["grid.P_ev -> ems.f", "furnace.P_el -> grid.f", "grid.f -> grid.H"]
    data["connections"].remove("grid.f -> ems.f")
    error = problems_for(write_scenario, data, "connections[4]", "grid.P_ev is not an output", "'input'")
    assert_problem(error, "connections[5]", "grid.f is not an input", "'output'")
    assert_problem(error, "connections[6]", "grid.H is not an input", "'parameter'")


def test_type_mismatch_says_why_and_what_to_do(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "counter.fmu", """
    <ScalarVariable name="count" valueReference="1" causality="output" variability="discrete" initial="exact">
      <Integer start="0"/></ScalarVariable>
    <ScalarVariable name="on" valueReference="2" causality="input" variability="discrete"><Boolean start="false"/>
    </ScalarVariable>
    <ScalarVariable name="preset" valueReference="3" causality="input" variability="discrete"><Integer start="0"/>
    </ScalarVariable>""")
    data = base_scenario()
    data["federates"]["counter"] = {"fmu": "counter.fmu", "site": "lab"}
    data["connections"] += ["counter.count -> furnace.curtail", "grid.v_pcc -> counter.on", "grid.f -> counter.preset"]
    error = load_error(write_scenario(data))
    # An Int32 into a Float64 is exact: the one conversion made
    assert not [p for p in error.problems if p.key == "connections[5]"], str(error)
    assert_problem(error, "connections[6]", "type mismatch: grid.v_pcc is Float64, counter.on is Boolean",
                   "a Boolean is true or false, not a number", "only an Integer output may feed a Real input",
                   "connect an input of the output's type")
    assert_problem(error, "connections[7]", "type mismatch: grid.f is Float64, counter.preset is Integer",
                   "may have a fraction, which an Integer input would lose")


# ------------------------------------------------------------------------------------------------------------ units

UNIT_DEFINITIONS = """<UnitDefinitions>
    <Unit name="VA"><BaseUnit kg="1" m="2" s="-3"/></Unit>
    <Unit name="kW"><BaseUnit kg="1" m="2" s="-3" factor="1000"/></Unit>
    <Unit name="m"><BaseUnit m="1"/></Unit>
  </UnitDefinitions>"""


def _meter_fmu(path: Path, unit: str) -> Path:
    return make_fmu(path, f"""
    <ScalarVariable name="P" valueReference="1" causality="input" variability="continuous">
      <Real unit="{unit}" start="0"/></ScalarVariable>""", UNIT_DEFINITIONS)


def test_incompatible_units(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    _meter_fmu(scenario_dir / "m_meter.fmu", "m")
    _meter_fmu(scenario_dir / "pint_meter.fmu", "pint")
    data = base_scenario()
    data["federates"]["mm"] = {"fmu": "m_meter.fmu", "site": "lab"}
    data["federates"]["pm"] = {"fmu": "pint_meter.fmu", "site": "lab"}
    data["connections"] += ["furnace.P_el -> mm.P", "grid.v_pcc -> ems.f", "furnace.P_el -> pm.P"]
    data["connections"].remove("grid.f -> ems.f")
    error = problems_for(write_scenario, data, "connections[4]", "unit mismatch", "furnace.P_el is in [W]",
                         "mm.P is in [m]", "base units differ (kg.m2.s-3 and m)", "factor: ..., offset: ...")
    # ems (python) defines no unit: its [Hz] is the grid's, which is not dimensionless like [pu]
    assert_problem(error, "connections[5]", "unit mismatch", "[pu]", "[Hz]", "base units differ")
    assert_problem(error, "connections[6]", "unit mismatch", "[W]", "[pint]", "neither federate defines [pint]")


def test_units_equal_by_definition_or_undeclared_are_compatible(write_scenario: ScenarioWriter,
                                                                 scenario_dir: Path) -> None:
    _meter_fmu(scenario_dir / "va_meter.fmu", "VA")
    make_fmu(scenario_dir / "plain.fmu", """
    <ScalarVariable name="x" valueReference="1" causality="input" variability="continuous"><Real start="0"/>
    </ScalarVariable>""")
    data = base_scenario()
    data["federates"]["vam"] = {"fmu": "va_meter.fmu", "site": "lab"}
    data["federates"]["plain"] = {"fmu": "plain.fmu", "site": "lab"}
    data["connections"] += ["furnace.P_el -> vam.P", "grid.f -> plain.x"]
    scenario = load_scenario(write_scenario(data))
    assert [str(c) for c in scenario.inputs_of("vam")] == ["furnace.P_el -> vam.P"]
    assert wiring_of(scenario, "vam").conversions == wiring_of(scenario, "plain").conversions == {}


def test_compatible_units_are_converted_where_received(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    _meter_fmu(scenario_dir / "kw_meter.fmu", "kW")
    data = base_scenario()
    data["federates"]["kwm"] = {"fmu": "kw_meter.fmu", "site": "lab"}
    data["connections"].append("furnace.P_el -> kwm.P")
    assert wiring_of(load_scenario(write_scenario(data)), "kwm").conversions == {"P": (1.0, 0.0, 1000.0)}


@pytest.mark.parametrize("entry, problem", [
    ({"from": "furnace.P_el", "to": "kwm.P", "factor": "x"}, "'factor' must be a finite number"),
    ({"from": "furnace.P_el", "to": "kwm.P", "offset": float("nan")}, "'offset' must be a finite number"),
    ({"from": "furnace.P_el", "to": "kwm.P", "factor": 0}, "'factor' must not be 0"),
    ({"from": "furnace.P_el", "to": "kwm.P", "gain": 2}, "the string keys 'from' and 'to'"),
])
def test_a_stated_conversion_that_is_not_one_is_refused_naming_the_entry(
        write_scenario: ScenarioWriter, scenario_dir: Path, entry: dict[str, object], problem: str) -> None:
    _meter_fmu(scenario_dir / "kw_meter.fmu", "kW")
    data = base_scenario()
    data["federates"]["kwm"] = {"fmu": "kw_meter.fmu", "site": "lab"}
    data["connections"].append(entry)
    problems_for(write_scenario, data, f"connections[{len(data['connections']) - 1}]", problem)


def test_a_stated_conversion_overrides_the_units(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    """As SSP's LinearTransformation: input = factor * output + offset, whatever the units say (even W into m)."""
    _meter_fmu(scenario_dir / "m_meter.fmu", "m")
    data = base_scenario()
    data["federates"]["mm"] = {"fmu": "m_meter.fmu", "site": "lab"}
    data["connections"].append({"from": "furnace.P_el", "to": "mm.P", "factor": "1e-3", "offset": 2})
    scenario = load_scenario(write_scenario(data))
    assert wiring_of(scenario, "mm").conversions == {"P": (1e-3, 2.0, 1.0)}
    assert scenario.connections[-1].written() == {"from": "furnace.P_el", "to": "mm.P", "factor": 1e-3, "offset": 2.0}
    data["connections"][-1]["offset"] = 3  # every site's copy must agree on it
    assert load_scenario(write_scenario(data)).shared_digest() != scenario.shared_digest()


# ---------------------------------------------------------------------------------------------- federate sources

def test_missing_fmu(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["fmu"] = "../fmus/nope.fmu"
    error = problems_for(write_scenario, data, "federates.grid.fmu", "not found", "nope.fmu")
    assert all(p.key == "federates.grid.fmu" for p in error.problems), "no cascade of errors"


def test_fmu_not_a_zip(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    (scenario_dir / "broken.fmu").write_text("not a zip")
    data = base_scenario()
    data["federates"]["grid"]["fmu"] = "broken.fmu"
    problems_for(write_scenario, data, "federates.grid.fmu", "not a zip")


def test_fmu_without_model_description(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "empty.fmu", "", model_description=False)
    data = base_scenario()
    data["federates"]["grid"]["fmu"] = "empty.fmu"
    problems_for(write_scenario, data, "federates.grid.fmu", "no modelDescription.xml")


def test_fmu_corrupt_model_description(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "bad.fmu", "<ScalarVariable")
    data = base_scenario()
    data["federates"]["grid"]["fmu"] = "bad.fmu"
    problems_for(write_scenario, data, "federates.grid.fmu", "cannot read modelDescription.xml")


def test_model_exchange_only_fmu_asked_for_co_simulation(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "me.fmu", "", co_simulation=False)
    data = base_scenario()
    data["federates"]["grid"].update(fmu="me.fmu", interface="co_simulation")
    problems_for(write_scenario, data, "federates.grid.interface",
                 "the FMU does not offer co-simulation (it offers Model Exchange only)")


_BINARY = f"binaries/{fmpy.platform}/toy{fmpy.sharedLibraryExtension}"


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"binary": None}, f"no binary for this platform ({fmpy.platform}); the FMU has binaries for: none"),
    ({"binary": "binaries/win64/toy.dll"}, f"no binary for this platform ({fmpy.platform}); "
                                           "the FMU has binaries for: win64"),
    ({"binary": f"binaries/{fmpy.platform}/other{fmpy.sharedLibraryExtension}"},
     f"{_BINARY} is missing (modelIdentifier 'toy'); binaries/{fmpy.platform}/ holds: "
     f"binaries/{fmpy.platform}/other{fmpy.sharedLibraryExtension}"),
    ({"fmi_version": "1.0"}, "fmi 1.0 is not supported, use fmi 2.0 or 3.0"),
])
def test_fmu_that_cannot_run_here(write_scenario: ScenarioWriter, scenario_dir: Path, kwargs: dict[str, Any],
                                  fragment: str) -> None:
    fmu = make_fmu(scenario_dir / "toy.fmu", "", **kwargs)
    data = base_scenario()
    data["federates"]["toy"] = {"fmu": "toy.fmu", "site": "lab"}
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.toy.fmu", str(fmu), fragment)
    assert len(error.problems) == 1, str(error)


@pytest.mark.parametrize(("library", "fragment"), [
    (lambda: twin_library(2)[:4096], "crashes the process that loads it (SIG"),  # a truncated export
    (lambda: twin_library(3), "does not export fmi2Instantiate, fmi2SetupExperiment, fmi2DoStep, fmi2FreeInstance"),
    (lambda: b"MZ\x90\x00 not an ELF file", "cannot be loaded"),
])
def test_fmu_whose_binary_does_not_load_is_named_before_anything_runs(
        write_scenario: ScenarioWriter, scenario_dir: Path, library: Callable[[], bytes], fragment: str) -> None:
    fmu = make_fmu(scenario_dir / "toy.fmu", "", library=library())
    data = base_scenario()
    data["federates"]["toy"] = {"fmu": "toy.fmu", "site": "lab"}
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.toy.fmu", str(fmu), f"binaries/{fmpy.platform}/toy{fmpy.sharedLibraryExtension} "
                   f"{fragment}")
    assert "fmu-probe-" not in str(error)  # no temporary path in the message
    assert "toy" in load_scenario(write_scenario(data), site="utility").interfaces  # another site's: not loaded here


def test_a_binary_that_needs_a_neighbour_library_loads_from_its_own_folder(
        write_scenario: ScenarioWriter, scenario_dir: Path, tmp_path: Path) -> None:
    """As fmpy loads it: from binaries/<platform>/, where a RUNPATH of "." finds its neighbours."""
    cc = os.environ.get("CC", "gcc")  # as fmus/build.py
    src = tmp_path / "src"
    src.mkdir()
    (src / "dep.c").write_text("int dep_value(void) { return 42; }\n")
    entry = "".join(f"int {name}(void) {{ return dep_value(); }}\n" for name in
                    ("fmi2Instantiate", "fmi2SetupExperiment", "fmi2DoStep", "fmi2FreeInstance"))
    (src / "toy.c").write_text("int dep_value(void);\n" + entry)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(src / "libdep.so"), str(src / "dep.c")], check=True)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(src / "toy.so"), str(src / "toy.c"), "-L", str(src), "-ldep",
                    "-Wl,-rpath,.", "-Wl,--enable-new-dtags"], check=True)
    fmu = make_fmu(scenario_dir / "toy.fmu", "", library=(src / "toy.so").read_bytes())
    with zipfile.ZipFile(fmu, "a") as archive:
        archive.write(src / "libdep.so", f"binaries/{fmpy.platform}/libdep.so")
    data = base_scenario()
    data["federates"]["toy"] = {"fmu": "toy.fmu", "site": "lab"}
    assert "toy" in load_scenario(write_scenario(data)).interfaces


def test_running_with_a_damaged_binary_is_a_clear_error_not_a_crash(write_scenario: ScenarioWriter,
                                                                    scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "toy.fmu", "", library=twin_library(2)[:4096])
    data = base_scenario()
    data["federates"]["toy"] = {"fmu": "toy.fmu", "site": "lab"}
    run = subprocess.run([sys.executable, "-m", "federation.cli", "run", str(write_scenario(data)), "--no-plot",
                          "--out", str(scenario_dir / "out")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr  # refused as an invalid scenario, with nothing loaded in-process
    assert "federates.toy.fmu" in run.stderr and "crashes the process that loads it" in run.stderr, run.stderr


def test_another_sites_fmu_may_lack_a_binary_for_this_platform(write_scenario: ScenarioWriter,
                                                               scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "toy.fmu", "", binary="binaries/win64/toy.dll")
    data = base_scenario()
    data["federates"]["toy"] = {"fmu": "toy.fmu", "site": "lab"}
    assert "toy" in load_scenario(write_scenario(data), site="utility").interfaces
    assert_problem(load_error(write_scenario(data)), "federates.toy.fmu", "no binary for this platform")


def test_fmu_with_a_damaged_member(write_scenario: ScenarioWriter, scenario_dir: Path,
                                   twin_fmus: dict[tuple[str, int], Path]) -> None:
    corrupt_fmu(twin_fmus[("grid", 3)], scenario_dir.parent / "fmus" / "grid.fmu")
    error = problems_for(write_scenario, base_scenario(), "federates.grid.fmu", "grid.fmu: corrupt FMU")
    assert [p.key for p in error.problems] == ["federates.grid.fmu"], str(error)


def test_missing_replay_csv(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["meter"]["replay"] = "data/missing.csv"
    problems_for(write_scenario, data, "federates.meter.replay", "not found")


@pytest.mark.parametrize(("content", "fragment"), [
    ("t,P\n0,1\n", "not a replay CSV: the first column of its first row must be 'time'"),
    ("time,P\n0,1\n1,abc\n", "row 3, column 'P': not a number"),
    ("time,P [W]\n0,1\nx,2\n", "row 3, column 'time': not a number"),
    ("time,P\n0,1\n0,2\n", "row 3: its time must be finite and after the previous row's"),
    ("time,P\n10,1\n5,2\n", "row 3: its time must be finite and after the previous row's"),
    ("time,P [W]\n", "has a header but no data rows"),
    ("time,P [W],Q\n0,1,2\n10,,3\n", "row 3, column 'P': empty cell"),
    ("time,P\n0,1\n \t,5\n", "row 3, column 'time': empty cell"),
])
def test_invalid_replay_csv(write_scenario: ScenarioWriter, scenario_dir: Path, content: str, fragment: str) -> None:
    (scenario_dir / "data" / "bad.csv").write_text(content)
    data = base_scenario()
    data["federates"]["meter"]["replay"] = "data/bad.csv"
    problems_for(write_scenario, data, "federates.meter.replay", fragment)


def test_replay_csv_with_byte_order_mark_and_blank_rows(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    (scenario_dir / "data" / "bom.csv").write_bytes(
        "time,P_meas [W],f_meas [Hz]\n0,1,50\n,,\n\n10,2,50\n".encode("utf-8-sig"))
    data = base_scenario()
    data["federates"]["meter"]["replay"] = "data/bom.csv"
    scenario = load_scenario(write_scenario(data))
    assert scenario.interfaces["meter"].outputs() == ["P_meas", "f_meas"]
    assert scenario.interfaces["meter"].variables["P_meas"].unit == "W"


@pytest.mark.parametrize(("spec", "fragment"), [
    ("toy_nonexistent:Dispatcher", "module 'toy_nonexistent' not found in"),
    ("toy_ems:Missing", "no attribute 'Missing'"),
    ("toy_ems:Incomplete", "does not declare 'outputs'"),
    ("toy_ems", "expected 'package.module:ClassName'"),
    ("toy_ems:NoStep", "has no 'step(t, dt, inputs)' method"),
    ("toy_ems:StepNotCallable", "'step' is a float, not a method"),
    ("toy_ems:BadStepSignature", "'step(self, inputs)' cannot be called as step(t, dt, inputs)"),
])
def test_python_class_problems(write_scenario: ScenarioWriter, spec: str, fragment: str) -> None:
    data = base_scenario()
    data["federates"]["ems"]["python"] = spec
    del data["federates"]["ems"]["parameters"]
    problems_for(write_scenario, data, "federates.ems.python", fragment)


@pytest.mark.parametrize(("spec", "parameters", "fragment"), [
    ("toy_ems:NeedsGain", {}, "given (none): missing a required argument: 'gain'"),
    ("toy_ems:DeclaresUnaccepted", {"alpha": 1.0}, "given (alpha): got an unexpected keyword argument 'alpha'"),
])
def test_python_class_cannot_take_the_parameters(write_scenario: ScenarioWriter, spec: str,
                                                 parameters: dict[str, float], fragment: str) -> None:
    data = base_scenario()
    data["federates"]["ems"].update(python=spec, parameters=parameters)
    data["connections"].remove("grid.f -> ems.f")
    data["interactions"] = {}
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.ems.parameters", spec, fragment)


def test_static_step_and_constructor_parameters_pass(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["ems"].update(python="toy_ems:StaticStep", parameters={})
    data["connections"].remove("grid.f -> ems.f")
    data["interactions"] = {}
    load_scenario(write_scenario(data))
    data["federates"]["ems"].update(python="toy_ems:NeedsGain", parameters={"gain": 2.0})
    load_scenario(write_scenario(data))


# ------------------------------------------------------------------------------------------------------- parameters

def test_parameter_with_wrong_causality(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["parameters"].update({"f": 50.0, "P_mech": 1.0, "P_ev": 0.0})
    error = problems_for(write_scenario, data, "federates.grid.parameters.f", "not a parameter", "'output'")
    assert_problem(error, "federates.grid.parameters.P_mech", "not a parameter", "'local'")
    assert not [p for p in error.problems if p.key.endswith("P_ev")], "inputs accept start values"


def test_parameter_value_type_mismatch(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["parameters"] = {"H": "five", "D": True}
    data["federates"]["vehicle"]["parameters"] = {"n_ev": 2.5}
    error = problems_for(write_scenario, data, "federates.grid.parameters.H", "'five'", "Real")
    assert_problem(error, "federates.grid.parameters.D", "True", "Real")
    assert_problem(error, "federates.vehicle.parameters.n_ev", "2.5", "Integer")


# ----------------------------------------------------------------------------------------------------- interactions

def test_interaction_unknown_publisher(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["interactions"]["DemandResponse"]["publishers"] = ["ems", "dso"]
    problems_for(write_scenario, data, "interactions.DemandResponse.publishers[1]", "unknown publisher", "'dso'")


def test_interaction_target_not_an_input(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["interactions"]["DemandResponse"]["to"] = {"furnace.T_set": "curtail"}
    problems_for(write_scenario, data, "interactions.DemandResponse.to.furnace.T_set", "not an input")


def test_interaction_target_value_not_a_parameter(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["interactions"]["DemandResponse"]["to"] = {"furnace.curtail": "level"}
    problems_for(write_scenario, data, "interactions.DemandResponse.to.furnace.curtail",
                 "'level' is not a parameter of interaction 'DemandResponse'", "curtail")
