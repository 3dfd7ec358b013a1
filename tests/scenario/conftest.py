"""Fixtures for scenario tests: built twin FMUs, hand-made fixture FMUs and scenario files in tmp_path."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import fmpy
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
TWINS: tuple[str, ...] = ("grid", "furnace", "vehicle")

ScenarioWriter = Callable[..., Path]


@pytest.fixture(scope="session")
def twin_fmus() -> dict[tuple[str, int], Path]:
    """{(twin, fmi_version): path} of the built twin FMUs (built via fmus/build.py if missing)."""
    return built_twins()


@functools.cache
def built_twins() -> dict[tuple[str, int], Path]:
    paths = {(n, v): REPO / "fmus" / "dist" / f"fmi{v}" / f"{n}.fmu" for n in TWINS for v in (2, 3)}
    if not all(p.is_file() for p in paths.values()):
        subprocess.run([sys.executable, str(REPO / "fmus" / "build.py")], check=True, cwd=REPO)
    return paths


@functools.cache
def twin_library(fmi_major: int) -> bytes:
    """A real co-simulation library of that FMI version for this platform (the grid twin's)."""
    platform = fmpy.platform_tuple if fmi_major == 3 else fmpy.platform
    with zipfile.ZipFile(built_twins()[("grid", fmi_major)]) as archive:
        return archive.read(f"binaries/{platform}/grid{fmpy.sharedLibraryExtension}")


@pytest.fixture
def scenario_dir(tmp_path: Path, twin_fmus: dict[tuple[str, int], Path]) -> Path:
    """tmp_path/scen with ../fmus/{grid(fmi3),furnace(fmi2),vehicle(fmi3)}.fmu, the toy EMS and a replay CSV."""
    fmu_dir = tmp_path / "fmus"
    fmu_dir.mkdir()
    for name, version in (("grid", 3), ("furnace", 2), ("vehicle", 3)):
        shutil.copy(twin_fmus[(name, version)], fmu_dir / f"{name}.fmu")
    directory = tmp_path / "scen"
    (directory / "data").mkdir(parents=True)
    shutil.copy(DATA / "toy_ems.py", directory / "toy_ems.py")
    shutil.copy(DATA / "measured.csv", directory / "data" / "measured.csv")
    return directory


@pytest.fixture(autouse=True)
def _forget_toy_modules() -> Iterator[None]:
    """Python federates are imported from tmp dirs: do not let one test's module leak into the next."""
    yield
    for name in [m for m in sys.modules if m.startswith("toy_")]:
        del sys.modules[name]


def base_scenario() -> dict[str, Any]:
    """A valid scenario (as data) using every federate kind and both connection syntaxes."""
    return {
        "federation": "grid-furnace-vehicle",
        "time": {"start": 0.0, "stop": 86400.0, "step": 1.0},
        "federates": {
            "grid": {"fmu": "../fmus/grid.fmu", "site": "utility", "step": 0.1, "parameters": {"H": 5.0},
                     "expose": ["f", "v_pcc"]},
            "furnace": {"fmu": "../fmus/furnace.fmu", "site": "steelworks", "parameters": {"T_set": 1250.0}},
            "vehicle": {"fmu": "../fmus/vehicle.fmu", "site": "fleet", "parameters": {"n_ev": 50}},
            "ems": {"python": "toy_ems:Dispatcher", "site": "operator", "parameters": {"threshold": 3.0e6}},
            "meter": {"replay": "data/measured.csv", "site": "utility"},
        },
        "connections": [
            "furnace.P_el -> grid.P_furnace",
            {"from": "vehicle.P_ev", "to": "grid.P_ev"},
            "grid.f -> furnace.f_grid",
            "grid.f -> vehicle.f_grid",
            "grid.f -> ems.f",
        ],
        "interactions": {
            "DemandResponse": {"parameters": ["curtail"], "publishers": ["ems"], "to": {"furnace.curtail": "curtail"}},
        },
    }


def one_site(data: dict[str, Any], site: str = "lab") -> dict[str, Any]:
    """The scenario data with every federate given to one site (exposure is then every output by default)."""
    for spec in data["federates"].values():
        spec["site"] = site
    return data


@pytest.fixture
def write_scenario(scenario_dir: Path) -> ScenarioWriter:
    """write_scenario(data=None, name='scenario.yaml', text=None) -> path of the written file in scenario_dir."""

    def write(data: dict[str, Any] | None = None, name: str = "scenario.yaml", text: str | None = None) -> Path:
        path = scenario_dir / name
        path.write_text(text if text is not None else yaml.safe_dump(data if data is not None else base_scenario(),
                                                                      sort_keys=False))
        return path

    return write


def make_fmu(path: Path, variables: str, unit_definitions: str = "", co_simulation: bool = True,
             model_description: bool = True, fmi_version: str = "2.0",
             binary: str | None = f"binaries/{fmpy.platform}/toy{fmpy.sharedLibraryExtension}",
             library: bytes | None = None, interfaces: Sequence[str] | None = None) -> Path:
    """A minimal FMU: a modelDescription.xml and at `binary` a library that loads (a twin's, or `library`).

    It declares CoSimulation (else ModelExchange), or the `interfaces` named ("ScheduledExecution", ...).
    """
    if interfaces is None:
        interfaces = ["CoSimulation" if co_simulation else "ModelExchange"]
    interface = "".join(f'<{kind} modelIdentifier="toy"/>' for kind in interfaces)
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="{fmi_version}" modelName="toy" guid="{{toy}}" numberOfEventIndicators="0">
  {interface}
  {unit_definitions}
  <ModelVariables>
{variables}
  </ModelVariables>
  <ModelStructure/>
</fmiModelDescription>
"""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("modelDescription.xml" if model_description else "other.xml", xml)
        if binary is not None:
            archive.writestr(binary, library if library is not None else twin_library(3 if fmi_version[0] == "3" else 2))
    return path


def corrupt_fmu(source: Path, target: Path) -> Path:
    """A copy of a real FMU with one byte flipped inside its binary's compressed data (the zip still opens)."""
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        info = next(i for i in archive.infolist() if i.filename.startswith("binaries/"))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # after the local header
    data[start + info.compress_size // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    return target
