"""The registry of federate kinds: the federation finds each kind through the package's entry points."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from adapters.stepped import SteppedFederate
from federation import errors as federation_errors, kinds as registry
from federation.coupling import Clock, Wiring
from federation.kinds import Kind, Model, UnknownKind, kind, kinds
from federation.kinds.interface import FederateInterface, VariableInfo
from federation.runtime.embedded import run_embedded
from federation.scenario import ScenarioError, load_scenario


def test_the_three_kinds_are_found_through_the_entry_points() -> None:
    found = kinds()
    assert {"fmu", "python", "replay"} <= set(found)
    for name, each in found.items():
        assert isinstance(each, Kind), name
        assert each.name == name


def test_an_unknown_kind_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownKind) as info:
        kind("modelica")
    assert "'modelica'" in str(info.value) and "fmu, python, replay" in str(info.value)


def test_a_kind_registered_in_process_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    class Constant:
        name, label, reads_file, runs_code, sends_interactions = "constant", "constant", False, False, False

        def interface(self, model: Model):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        probe = parameter_problems = sources = federate = interface

    monkeypatch.setattr(registry, "_REGISTERED", dict(registry._REGISTERED))
    registry.register(Constant())  # type: ignore[arg-type]
    assert kind("constant").label == "constant"


@pytest.mark.parametrize("version", [2, 3])
def test_inspect_reads_an_fmu_through_its_kind(fmu_dist: Path, version: int) -> None:
    interface = registry.read_interface(fmu_dist / f"fmi{version}" / "grid.fmu")
    assert interface.kind == "fmu" and (interface.fmi_version or "").startswith(str(version))
    assert interface.model_name and interface.outputs()


class _ConstantFederate(SteppedFederate):
    """Outputs one number, the scenario's value for it, at every step."""

    def __init__(self, name: str, site: str, value: float, outputs: Sequence[str], clock: Clock,
                 wiring: Wiring) -> None:
        super().__init__(name, site, outputs, clock, wiring)
        self.value = value

    def initial_outputs(self) -> Sequence[float]:
        return [self.value] * len(self.outputs)

    def step(self, t: int, h: int) -> Sequence[float]:
        return [self.value] * len(self.outputs)


class _ConstantKind:
    """A kind written in a test, as another package would add one: `constant: 2.5` outputs y = 2.5."""

    name, label, reads_file, runs_code, sends_interactions = "constant", "constant", False, False, False

    def interface(self, model: Model) -> FederateInterface:
        return FederateInterface(kind=self.name, variables={"y": VariableInfo("y", "output", "Real", "1", None, None)})

    def probe(self, model: Model, interface: FederateInterface, load: bool) -> str | None:
        return None

    def parameter_problems(self, model: Model, interface: FederateInterface) -> list[tuple[str, str]]:
        return []

    def sources(self, model: Model) -> dict[Path, str]:
        return {}

    def federate(self, model: Model, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> _ConstantFederate:
        return _ConstantFederate(model.federate, model.site, float(model.source), outputs, clock, wiring)


def test_a_new_kind_is_one_module_and_runs_in_a_scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTERED", dict(registry._REGISTERED))
    registry.register(_ConstantKind())
    (tmp_path / "scenario.yaml").write_text("federation: constants\ntime: {start: 0.0, stop: 3.0, step: 1.0}\n"
                                            "federates:\n  c: {constant: '2.5', site: lab}\n")
    result = run_embedded(load_scenario(tmp_path / "scenario.yaml"), tmp_path / "out", plot=False)
    assert result.status == "completed", result.error
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert rows[0] == "time,c.y" and [row.split(",")[1] for row in rows[1:]] == ["2.5"] * 4, rows


def test_a_kind_nobody_installed_is_a_problem_at_its_key(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("federation: typo\ntime: {start: 0.0, stop: 3.0, step: 1.0}\n"
                                            "federates:\n  c: {fmuu: grid.fmu, site: lab}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "scenario.yaml")
    assert [p.key for p in info.value.problems] == ["federates.c.fmuu"], str(info.value)
    assert "no federate kind 'fmuu' is installed" in str(info.value) and "did you mean 'fmu'" in str(info.value)


def test_a_mistyped_key_beside_the_model_is_an_unknown_key(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("federation: typo\ntime: {start: 0.0, stop: 3.0, step: 1.0}\n"
                                            "federates:\n  c: {replay: x.csv, site: lab, paramters: {a: 1}}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "scenario.yaml")
    assert "federates.c.paramters" in [p.key for p in info.value.problems], str(info.value)


def test_a_kind_that_cannot_be_loaded_is_named_with_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another package's broken kind: a clear configuration error, not a traceback from deep in its import."""
    import importlib.metadata

    broken = importlib.metadata.EntryPoint(name="modelica", value="no_such_kind_module:KIND", group=registry.ENTRY_POINTS)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [broken] if group == registry.ENTRY_POINTS else [])
    monkeypatch.setattr(registry, "_REGISTERED", {})
    monkeypatch.setattr(registry, "_LOADED", False)
    with pytest.raises(registry.KindNotLoaded) as info:
        kinds()
    assert "federate kind 'modelica'" in str(info.value) and "no_such_kind_module" in str(info.value)
    assert isinstance(info.value, federation_errors.ConfigurationError)
