"""The registry of federate kinds: the federation finds each kind through the package's entry points."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation import kinds as registry
from federation.kinds import Kind, Model, UnknownKind, kind, kinds


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
        name, label, reads_file, runs_code = "constant", "constant", False, False

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
