"""The scenario package's contracts: load_scenario builds a frozen scenario and changes nothing it is given;
rules.check is pure (its problems follow from the spec and the interfaces alone, with no file read)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pydantic
import pytest
import yaml

from federation.kinds.interface import FederateInterface, VariableInfo
from federation.scenario import Problem, ScenarioError, ScenarioSpec, check, load_scenario
from federation.scenario.resolve import resolve

from .conftest import ScenarioWriter, base_scenario


def test_load_scenario_changes_nothing_it_is_given_and_returns_a_frozen_scenario(
        write_scenario: ScenarioWriter) -> None:
    path = write_scenario(base_scenario())
    before = path.read_bytes()
    overrides: dict[str, object] = {"grid.D": 2.0, "time.stop": 3600}
    given = copy.deepcopy(overrides)
    scenario = load_scenario(path, overrides)
    assert overrides == given and path.read_bytes() == before
    assert scenario == load_scenario(path, overrides)  # built once, from the same inputs: the same scenario

    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.path = Path("/elsewhere.yaml")  # type: ignore[misc]
    with pytest.raises(TypeError):
        scenario.interfaces["grid"] = scenario.interfaces["furnace"]  # type: ignore[index]
    with pytest.raises(pydantic.ValidationError):
        scenario.spec.time = scenario.spec.time  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        scenario.federates["grid"].site = "someone"  # type: ignore[misc]
    scenario.overrides["grid.D"] = 9.0  # a copy: what it holds stays
    scenario.unchecked.append(Problem("x", "y"))
    assert scenario.overrides == given and scenario.unchecked == []


def _real(name: str, causality: str, unit: str | None = None) -> VariableInfo:
    return VariableInfo(name, causality, "Real", unit, None, 0.0)


SPEC = {
    "federation": "pure",
    "time": {"stop": 10.0, "step": 1.0},
    "federates": {
        # Files that exist nowhere: the rules never look for them.
        "a": {"fmu": "/nowhere/a.fmu", "site": "alpha", "parameters": {"k": 1.0, "gain": 2.0}, "tunable": ["k"],
              "expose": ["y"]},
        "b": {"fmu": "/nowhere/b.fmu", "site": "beta", "parameters": {"nope": 1}},
    },
    "connections": ["a.y -> b.u"],
}
INTERFACES = {
    "a": FederateInterface("fmu", {"y": _real("y", "output", "W"), "k": _real("k", "parameter"),
                                   "gain": _real("gain", "parameter")}),
    "b": FederateInterface("fmu", {"u": _real("u", "input", "K")}),
}


def test_rules_check_needs_only_the_spec_and_the_interfaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: no model file is anywhere to be found
    spec = ScenarioSpec.model_validate(SPEC)
    problems = check(spec, INTERFACES)
    assert [(p.key, p.message.split(":")[0]) for p in problems] == [
        ("federates.a.parameters.gain", "'gain' is not in federates.a.tunable (k)"),  # the tunable rule
        ("federates.b.parameters.nope", "'nope' is not a parameter of federate 'b' (no such variable)"),
        ("connections[0]", "unit mismatch"),
    ]
    assert check(spec, INTERFACES) == problems  # the same inputs, the same problems
    assert spec == ScenarioSpec.model_validate(SPEC)  # and nothing changed
    assert list(tmp_path.iterdir()) == []


def test_rules_check_leaves_another_sites_models_to_that_site() -> None:
    spec = ScenarioSpec.model_validate(SPEC)
    keys = [p.key for p in check(spec, INTERFACES, site="alpha")]
    # b's parameters and the connection's units are beta's to check, on its own host; the tunable rule is
    # every site's, as its host would refuse to run
    assert keys == ["federates.a.parameters.gain"]


def test_resolve_reads_only_the_local_sites_models(write_scenario: ScenarioWriter) -> None:
    path = write_scenario(base_scenario())
    spec = ScenarioSpec.model_validate(yaml.safe_load(path.read_text()))
    found = resolve(spec, path, local_sites=("utility",), run_code=False)
    kinds = {name: interface.kind for name, interface in found.interfaces.items()}
    assert kinds == {"grid": "fmu", "meter": "replay", "furnace": "remote", "vehicle": "remote", "ems": "remote"}
    assert found.problems == ()


def test_owner_is_still_read_as_site_and_both_given_is_an_error(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["grid"]["owner"] = data["federates"]["grid"].pop("site")  # the key's older name
    assert load_scenario(write_scenario(data)).federates["grid"].site == "utility"
    data["federates"]["grid"]["site"] = "utility"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write_scenario(data))
    assert [(p.key, p.message) for p in caught.value.problems] == [
        ("federates.grid", "both 'site' and 'owner' are given: 'owner' is the older name of 'site', give one")]
