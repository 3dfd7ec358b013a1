"""Units: a purpose-built C FMU (cfmus/units.c, FMI 2 and 3) with variables in degC/K, kW/W, m and none.

Coupled, a value is converted where it is received, exactly as the FMI unit definitions say, and the
results equal a master written here by hand with fmpy, which converts with its own arithmetic; the run
records the sender's value in the sender's unit. Embedded, over gRPC (direct and relay routing, one host
per site, each reading the other site's modelDescription for its units) and on Ray, byte for byte.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import fmpy
import pytest
from fmpy.fmi2 import FMU2Slave
from fmpy.fmi3 import FMU3Slave

import federation
from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario
from federation.runtime.assembly import wiring_of
from conformance import suite
from conformance.cfmu import SOURCES, build_c_fmu

STOP, STEP_TICKS = 1.0, 100_000_000  # 10 steps of 0.1 s
VR = {"T_out": 1, "P_kW": 2, "x": 3, "dT": 4, "y": 5, "T_in": 11, "P_in": 12, "dT_in": 14, "u": 15,
      "T_echo": 21, "P_echo": 22, "dT_echo": 24, "u_echo": 25}
# What the receiving input gets, in this test's own arithmetic: degC -> K, kW -> W, a relative temperature
# (no offset), and the stated conversion {factor: 2.5, offset: -1}
BY_HAND: dict[tuple[str, str], Callable[[float], float]] = {
    ("T_out", "T_in"): lambda v: v + 273.15,
    ("P_kW", "P_in"): lambda v: v * 1000,
    ("dT", "dT_in"): lambda v: v,
    ("y", "u"): lambda v: 2.5 * v - 1,
}
CONNECTIONS: list[Any] = ["a.T_out -> b.T_in", "a.P_kW -> b.P_in", "a.dT -> b.dT_in",
                          {"from": "a.y", "to": "b.u", "factor": 2.5, "offset": -1}]
A_OUT, B_OUT = ["T_out", "P_kW", "x", "dT", "y"], ["T_echo", "P_echo", "dT_echo", "u_echo"]


def _source(version: int) -> str:
    return ("#define FMI3\n" if version == 3 else "") + (SOURCES / "units.c").read_text()


@pytest.fixture(scope="session")
def units_fmus(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    out = tmp_path_factory.mktemp("units")
    return {v: build_c_fmu(_source(v), f"units{v}.xml", out / f"fmi{v}") for v in (2, 3)}


@pytest.fixture(scope="session")
def display_only_fmu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FMI 3 FMU with no unit named degC: only K's display unit is (its degC outputs left without unit)."""
    xml = (SOURCES / "units3.xml").read_text()
    xml = xml.replace('<Unit name="degC"><BaseUnit K="1" offset="273.15"/></Unit>', "").replace(' unit="degC"', "")
    assert 'name="degC"' in xml and 'unit="degC"' not in xml
    return build_c_fmu(_source(3), xml, tmp_path_factory.mktemp("display"))


def write_scenario(folder: Path, federates: dict[str, Any], connections: list[Any]) -> Path:
    return suite.write_scenario(folder, federates, connections, federation="units", stop=STOP, step=0.1)


def coupled(folder: Path, fmu: Path, connections: list[Any] | None = None) -> Path:
    """a (site lab) feeds b (site shop): two sites, so that over gRPC each host has one of them."""
    return write_scenario(folder, {"a": {"fmu": str(fmu), "site": "lab", "expose": A_OUT},
                                   "b": {"fmu": str(fmu), "site": "shop", "expose": B_OUT}},
                          CONNECTIONS if connections is None else connections)


def rows(out: Path) -> list[dict[str, float]]:
    with open(out / "results.csv", newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


class _Slave:
    """One instance of the units FMU driven by fmpy, FMI 2 or 3, by value reference."""

    def __init__(self, fmu: Path, version: int, name: str) -> None:
        md = fmpy.read_model_description(str(fmu), validate=False)
        cls = FMU3Slave if version == 3 else FMU2Slave
        self.fmu = cls(guid=md.guid, unzipDirectory=fmpy.extract(str(fmu)), modelIdentifier="units", instanceName=name)
        self.version = version
        self.fmu.instantiate()
        if version == 2:
            self.fmu.setupExperiment(startTime=0.0)
            self.fmu.enterInitializationMode()
        else:
            self.fmu.enterInitializationMode(startTime=0.0)
        self.fmu.exitInitializationMode()

    def get(self, names: list[str]) -> list[float]:
        call = self.fmu.getFloat64 if self.version == 3 else self.fmu.getReal
        return list(call([VR[n] for n in names]))

    def set(self, values: dict[str, float]) -> None:
        call = self.fmu.setFloat64 if self.version == 3 else self.fmu.setReal
        call([VR[n] for n in values], list(values.values()))

    def close(self) -> None:
        self.fmu.terminate()
        self.fmu.freeInstance()


def by_hand(fmu: Path, version: int) -> list[dict[str, float]]:
    """The coupling as a Jacobi master does it, written here: at each communication point b gets a's outputs
    of that point, converted by BY_HAND; both step; every output recorded at every point."""
    a, b = _Slave(fmu, version, "a"), _Slave(fmu, version, "b")
    table = []
    try:
        for k in range(round(STOP * 10) + 1):
            t = k * STEP_TICKS / 1e9
            out_a, out_b = a.get(A_OUT), b.get(B_OUT)
            table.append({"time": t, **{f"a.{n}": v for n, v in zip(A_OUT, out_a)},
                          **{f"b.{n}": v for n, v in zip(B_OUT, out_b)}})
            if k == round(STOP * 10):
                break
            b.set({dst: BY_HAND[src, dst](dict(zip(A_OUT, out_a))[src]) for src, dst in BY_HAND})
            a.fmu.doStep(t, STEP_TICKS / 1e9)
            b.fmu.doStep(t, STEP_TICKS / 1e9)
    finally:
        a.close()
        b.close()
    return table


def write_heater(folder: Path) -> None:
    """heater.py: a python model whose output T is in degC, a unit it names without defining it."""
    (folder / "heater.py").write_text("class Heater:\n"
                                      "    inputs = []\n"
                                      "    outputs = {'T': 'degC'}\n"
                                      "    def step(self, t, dt, inputs):\n"
                                      "        return {'T': 20.1 + t}\n")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation.cli", *args], capture_output=True, text=True, timeout=180)


# ------------------------------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("version", [2, 3])
def test_units_are_read_from_the_model_description(units_fmus: dict[int, Path], version: int) -> None:
    interface = federation.inspect(units_fmus[version])
    definitions = interface.unit_definitions
    assert definitions["degC"] == ((0, 0, 0, 0, 1, 0, 0, 0), 1.0, 273.15)
    assert definitions["kW"] == ((1, 2, -3, 0, 0, 0, 0, 0), 1000.0, 0.0)
    variables = interface.variables
    assert (variables["T_in"].unit, variables["dT"].unit, variables["y"].unit) == ("K", "degC", None)
    assert variables["dT"].relative_quantity and variables["dT_in"].relative_quantity
    assert not variables["T_out"].relative_quantity


def test_a_unit_named_only_as_a_display_unit_is_known(display_only_fmu: Path) -> None:
    definitions = federation.inspect(display_only_fmu).unit_definitions
    assert definitions["degC"] == ((0, 0, 0, 0, 1, 0, 0, 0), 1.0, 273.15)  # K's DisplayUnit offset=-273.15
    assert definitions["kW"][1:] == (1000.0, 0.0)  # a Unit of its own: it wins over W's display unit


@pytest.mark.parametrize("version", [2, 3])
def test_coupled_conversions_equal_a_master_written_by_hand(units_fmus: dict[int, Path], version: int,
                                                            tmp_path: Path) -> None:
    path = coupled(tmp_path / "scen", units_fmus[version])
    result = run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    assert result.status == "completed", result.error
    got, expected = rows(tmp_path / "out"), by_hand(units_fmus[version], version)
    assert got == expected
    # the record keeps the sender's value in the sender's unit: a.T_out in degC, b.T_echo in K
    assert got[1]["a.T_out"] == 20.1 + 0.3 * 0.1 and got[2]["b.T_echo"] == got[1]["a.T_out"] + 273.15
    assert got[3]["b.P_echo"] == got[2]["a.P_kW"] * 1000 and got[3]["b.dT_echo"] == got[2]["a.dT"]
    assert got[0]["b.T_echo"] == 293.15  # T_in's start value, before any value arrived


@pytest.mark.parametrize(("version", "routing"), [(2, "direct"), (3, "direct"), (3, "relay")])
def test_grpc_converts_to_the_embedded_bytes(units_fmus: dict[int, Path], version: int, routing: str,
                                             tmp_path: Path) -> None:
    """One host per site: b's host reads a's modelDescription (data, not code) for a's units."""
    path = coupled(tmp_path / "scen", units_fmus[version])
    run_embedded(load_scenario(path), tmp_path / "embedded", plot=False)
    done = cli("run", str(path), "--mode", "grpc", "--insecure", "--routing", routing, "--no-plot",
               "--out", str(tmp_path / "grpc"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "grpc" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()


def test_the_receiving_site_converts_with_the_other_sites_units(units_fmus: dict[int, Path], tmp_path: Path) -> None:
    """What a host of site shop builds: the conversions of its inputs, though a is another site's."""
    path = coupled(tmp_path / "scen", units_fmus[2])
    conversions = wiring_of(load_scenario(path, site="shop"), "b").conversions
    assert conversions == wiring_of(load_scenario(path), "b").conversions == {
        "T_in": (1.0, 273.15, 1.0), "P_in": (1000.0, 0.0, 1.0), "u": (2.5, -1.0, 1.0)}  # dT_in: no conversion


def test_a_python_models_unit_known_only_as_a_display_unit_is_converted(display_only_fmu: Path,
                                                                        tmp_path: Path) -> None:
    """A python model declares 'degC' without definition; the FMU defines degC only as K's display unit."""
    write_heater(tmp_path)
    path = write_scenario(tmp_path, {"h": {"python": "heater:Heater", "site": "lab"},
                                     "b": {"fmu": str(display_only_fmu), "site": "lab"}}, ["h.T -> b.T_in"])
    assert run_embedded(load_scenario(path), tmp_path / "out", plot=False).status == "completed"
    got = rows(tmp_path / "out")
    assert [r["b.T_echo"] for r in got[2:]] == [r["h.T"] + 273.15 for r in got[1:-1]]


def test_a_conversion_another_sites_host_cannot_see_must_be_stated(display_only_fmu: Path, tmp_path: Path) -> None:
    """A python model's units are known only by importing it, which another site's host never does: across
    sites, the receiving host could not convert what one process converts, so the entry must say how."""
    write_heater(tmp_path)
    federates = {"h": {"python": "heater:Heater", "site": "lab", "expose": ["T"]},
                 "b": {"fmu": str(display_only_fmu), "site": "shop", "expose": ["T_echo"]}}
    path = write_scenario(tmp_path, federates, ["h.T -> b.T_in"])
    done = cli("validate", str(path))
    assert done.returncode != 0
    assert ("{from: h.T, to: b.T_in, factor: 1.0, offset: 273.15}, so that every mode converts it alike"
            in " ".join(done.stderr.split())), done.stderr
    path = write_scenario(tmp_path, federates, [{"from": "h.T", "to": "b.T_in", "factor": 1.0, "offset": 273.15}])
    run_embedded(load_scenario(path), tmp_path / "embedded", plot=False)
    done = cli("run", str(path), "--mode", "grpc", "--insecure", "--no-plot", "--out", str(tmp_path / "grpc"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "grpc" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
    got = rows(tmp_path / "grpc")
    assert [r["b.T_echo"] for r in got[2:]] == [r["h.T"] + 273.15 for r in got[1:-1]]


@pytest.mark.parametrize("version", [2, 3])
def test_incompatible_units_are_refused_naming_both_sides(units_fmus: dict[int, Path], version: int,
                                                          tmp_path: Path) -> None:
    path = coupled(tmp_path / "scen", units_fmus[version], ["a.x -> b.T_in"])
    for command in (["validate", str(path)], ["run", str(path), "--no-plot", "--out", str(tmp_path / "out")]):
        done = cli(*command)
        assert done.returncode != 0
        message = " ".join(done.stderr.split())
        for fragment in ("connections[0]", "unit mismatch", "a.x is in [m]", "b.T_in is in [K]",
                         "base units differ (m and K)"):
            assert fragment in message, (command, done.stderr)
    assert not (tmp_path / "out" / "results.csv").exists()


def test_validate_verbose_lists_conversions_and_unitless_sides(units_fmus: dict[int, Path], tmp_path: Path) -> None:
    fmu = str(units_fmus[3])
    path = write_scenario(tmp_path, {"a": {"fmu": fmu, "site": "lab"}, "b": {"fmu": fmu, "site": "lab"},
                                     "c": {"fmu": fmu, "site": "lab"}},
                          CONNECTIONS[:3] + ["a.T_out -> b.u", {"from": "a.y", "to": "c.u", "factor": 2.5, "offset": -1},
                                             {"from": "a.P_kW", "to": "c.P_in", "factor": 1e3}])
    done = cli("validate", str(path), "--verbose")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert ("connections[0]: a.T_out -> b.T_in: converted [degC] -> [K] by their unit definitions: "
            "b.T_in = v + 273.15, v = a.T_out") in out
    assert ("connections[1]: a.P_kW -> b.P_in: converted [kW] -> [W] by their unit definitions: "
            "b.P_in = 1000.0 * v, v = a.P_kW") in out
    assert "connections[2]" not in out  # relative quantities, the same factor: nothing to convert
    assert "connections[3]: a.T_out -> b.u: b.u declares no unit: the value is taken as is, not converted" in out
    assert "connections[4]: a.y -> c.u: converted as the entry states: c.u = 2.5 * v - 1.0, v = a.y" in out
    assert ("connections[5]: a.P_kW -> c.P_in: converted as the entry states (not by the units [kW] -> [W]): "
            "c.P_in = 1000.0 * v, v = a.P_kW") in out
    assert "units:" not in cli("validate", str(path)).stdout  # only with --verbose


@pytest.mark.slow
def test_ray_converts_to_the_embedded_bytes(units_fmus: dict[int, Path], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from federation.runtime.ray import shutdown_site_actors

    path = coupled(tmp_path / "scen", units_fmus[3])
    run_embedded(load_scenario(path), tmp_path / "embedded", plot=False)
    if ray.is_initialized():
        ray.shutdown()
    try:
        on_ray = federation.run(path, mode="ray", out=tmp_path / "ray", insecure=True)
    finally:
        shutdown_site_actors()
        ray.shutdown()
    assert on_ray.status == "completed", on_ray.error
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()


def test_the_python_api_states_a_conversion_and_keeps_it_when_loading(units_fmus: dict[int, Path],
                                                                      tmp_path: Path) -> None:
    built = federation.Scenario("units", stop=STOP, step=0.1)
    built.add_fmu("a", units_fmus[2], site="lab").add_fmu("b", units_fmus[2], site="lab")
    built.connect("a.y", "b.u", factor=2.5, offset=-1).connect("a.T_out", "b.T_in")
    got = federation.run(built).raise_for_status()
    assert [2.5 * y - 1 for y in got["a.y"].values[:-1]] == list(got["b.u_echo"].values[1:])
    assert list(got["a.T_out"].values[:-1] + 273.15) == list(got["b.T_echo"].values[1:])
    # loaded, it is written again as a mapping (model_dump): the stated conversion is kept
    loaded = federation.run(federation.Scenario.load(coupled(tmp_path / "scen", units_fmus[2]))).raise_for_status()
    from_file = federation.run(coupled(tmp_path / "again", units_fmus[2])).raise_for_status()
    assert list(loaded["b.u_echo"].values) == list(from_file["b.u_echo"].values) != list(loaded["a.y"].values)
