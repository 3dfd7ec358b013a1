"""Federate interfaces read without running: FMUs (FMI 2/3, cached), Python classes, replay CSVs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from adapters.fmu.interface import fmu_interface
from adapters.python.loader import load_python_class, python_interface
from adapters.replay import replay_interface
from federation.kinds.interface import InterfaceError

from .conftest import DATA, make_fmu


@pytest.mark.parametrize("version", [2, 3])
def test_twin_fmu_interfaces(twin_fmus: dict[tuple[str, int], Path], version: int) -> None:
    grid = fmu_interface(twin_fmus[("grid", version)])
    assert grid.kind == "fmu" and grid.fmi_version == f"{version}.0" and grid.model_name == "grid"
    assert grid.inputs() == ["P_furnace", "P_ev"] and grid.outputs() == ["f", "v_pcc"]
    assert "H" in grid.parameters()
    h = grid.variables["H"]
    assert (h.causality, h.type, h.unit, h.start) == ("parameter", "Real", "s", 5.0)
    assert grid.unit_definitions["W"] == ((1, 2, -3, 0, 0, 0, 0, 0), 1.0, 0.0)
    vehicle = fmu_interface(twin_fmus[("vehicle", version)])
    n_ev = vehicle.variables["n_ev"]
    assert n_ev.type == "Integer" and isinstance(n_ev.start, int)
    furnace = fmu_interface(twin_fmus[("furnace", version)])
    assert furnace.inputs() == ["f_grid", "curtail"] and furnace.outputs() == ["P_el", "T_chamber", "T_charge"]


def test_fmu_interface_is_cached_per_path_mtime_size(twin_fmus: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    path = tmp_path / "grid.fmu"
    shutil.copy(twin_fmus[("grid", 3)], path)
    first = fmu_interface(path)
    assert fmu_interface(tmp_path / "." / "grid.fmu") is first
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fmu_interface(path) is not first


def test_fmu_interface_errors(tmp_path: Path) -> None:
    with pytest.raises(InterfaceError, match="not found"):
        fmu_interface(tmp_path / "missing.fmu")
    with pytest.raises(InterfaceError, match="not a file"):
        fmu_interface(tmp_path)


@pytest.mark.parametrize(("version", "interfaces", "identifiers"), [
    ("2.0", ["ModelExchange"], {"model_exchange": "toy"}),
    ("3.0", ["ModelExchange", "ScheduledExecution"], {"model_exchange": "toy"}),
    ("2.0", ["ModelExchange", "CoSimulation"], {"co_simulation": "toy", "model_exchange": "toy"}),
    ("3.0", ["CoSimulation"], {"co_simulation": "toy"}),
])
def test_an_fmus_interfaces_are_read_with_their_model_identifiers(
        tmp_path: Path, version: str, interfaces: list[str], identifiers: dict[str, str]) -> None:
    interface = fmu_interface(make_fmu(tmp_path / "toy.fmu", "", fmi_version=version, interfaces=interfaces))
    assert dict(interface.model_identifiers) == identifiers and interface.model_identifier == "toy"


@pytest.mark.parametrize(("version", "interfaces", "described"), [
    ("3.0", ["ScheduledExecution"], "scheduled execution only"),
    ("3.0", [], "it declares no interface"),
])
def test_an_fmu_without_co_simulation_or_model_exchange_is_described_by_what_it_declares(
        tmp_path: Path, version: str, interfaces: list[str], described: str) -> None:
    fmu = make_fmu(tmp_path / "toy.fmu", "", fmi_version=version, interfaces=interfaces)
    with pytest.raises(InterfaceError) as info:
        fmu_interface(fmu)
    assert str(info.value) == f"{fmu}: FMU supports neither co-simulation nor model exchange ({described})"


def test_python_interface_mapping_and_sequence_forms(tmp_path: Path) -> None:
    (tmp_path / "toy_models.py").write_text(
        "class Seq:\n    inputs = ['a', 'b']\n    outputs = ('y',)\n"
        "    def __init__(self, gain=1.0, *, mode='x'):\n        pass\n"
        "    def step(self, t, dt, inputs):\n        return {'y': 0.0}\n")
    interface = python_interface("toy_models:Seq", [tmp_path])
    assert interface.kind == "python"
    assert interface.inputs() == ["a", "b"] and interface.outputs() == ["y"]
    assert interface.parameters() == ["gain", "mode"], "constructor arguments when no `parameters` declared"
    assert str(tmp_path) not in sys.path, "search paths are only prepended while importing"
    ems = python_interface("toy_ems:Dispatcher", [DATA])
    assert ems.variables["f"].unit == "Hz" and ems.parameters() == ["threshold"]
    assert load_python_class("toy_ems:Dispatcher", [DATA]).__name__ == "Dispatcher"


def test_python_interface_errors(tmp_path: Path) -> None:
    (tmp_path / "toy_bad.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(InterfaceError, match="boom"):
        load_python_class("toy_bad:X", [tmp_path])
    (tmp_path / "toy_dup.py").write_text("class D:\n    inputs = ['x']\n    outputs = {'x': None}\n")
    with pytest.raises(InterfaceError, match="declared twice"):
        python_interface("toy_dup:D", [tmp_path])
    (tmp_path / "toy_notclass.py").write_text("D = 3\n")
    with pytest.raises(InterfaceError, match="not a class"):
        python_interface("toy_notclass:D", [tmp_path])


def test_replay_interface_header_units(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("time [s],P [W], soc \n0,1,0.5\n1.5,2,0.6\n")
    interface = replay_interface(path)
    assert interface.kind == "replay" and interface.outputs() == ["P", "soc"]
    assert interface.variables["P"].unit == "W" and interface.variables["soc"].unit is None
    assert all(v.type == "Real" and v.causality == "output" for v in interface.variables.values())


@pytest.mark.parametrize(("content", "fragment"), [
    ("", "empty"),
    ("time,P,P\n0,1,1\n", "unique"),
    ("time,P\n0,1,2\n", "cells"),
    ("time,P\nnan,1\n", "times strictly increase"),
])
def test_replay_interface_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(content)
    with pytest.raises(InterfaceError, match=fragment):
        replay_interface(path)
