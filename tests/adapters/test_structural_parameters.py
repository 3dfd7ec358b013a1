"""FMI 3 structural parameters and Integer -> Real connections, with a C FMU that keeps the standard's rules.

tests/adapters/cfmus/config3.c refuses a structural parameter outside Configuration Mode and anything
else inside it, as the Reference FMUs do: a scenario that sets one runs only if the FMU adapter sets it
in Configuration Mode, before the ordinary parameters and initialization. The same FMU's Int32 output
feeds a Float64 input (a lossless widening), in embedded and grpc mode, to the same bytes.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

import fmpy
import pytest
import yaml
from fmpy.fmi3 import FMU3Slave

from federation.runtime.embedded import run_embedded
from federation.scenario import ScenarioError, load_scenario
from conformance.cfmu import build_c_fmu

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "cfmus" / "config3.c"
MODEL_DESCRIPTION = """<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="3.0" modelName="config3" instantiationToken="{config3}">
  <CoSimulation modelIdentifier="config3" canHandleVariableCommunicationStepSize="true"/>
  <ModelVariables>
    <Float64 name="time" valueReference="0" causality="independent" variability="continuous"/>
    <UInt64 name="n" valueReference="1" causality="structuralParameter" variability="fixed" start="1" min="1" max="1000"/>
    <Float64 name="k" valueReference="2" causality="parameter" variability="fixed" start="1"/>
    <Float64 name="u" valueReference="3" causality="input" variability="continuous" start="0"/>
    <Int32 name="count" valueReference="4" causality="output" variability="discrete" initial="exact" start="0"/>
    <Int64 name="big" valueReference="5" causality="output" variability="discrete"/>
    <Float64 name="y" valueReference="6" causality="output" variability="continuous"/>
    <UInt64 name="m" valueReference="7" causality="structuralParameter" variability="tunable" start="2" min="0" max="9"/>
  </ModelVariables>
  <ModelStructure>
    <Output valueReference="4"/>
    <Output valueReference="5"/>
    <Output valueReference="6"/>
  </ModelStructure>
</fmiModelDescription>
"""


@pytest.fixture(scope="session")
def config3_fmu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config3.fmu, built from C (stubs for the FMI 3 functions it does not implement, so that importers load it)."""
    return build_c_fmu(SOURCE.read_text(), MODEL_DESCRIPTION, tmp_path_factory.mktemp("config3"))


def write_scenario(folder: Path, federates: dict[str, Any], connections: list[str] | None = None,
                   stop: float = 3.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump({"federation": "config3", "time": {"start": 0.0, "stop": stop, "step": 1.0},
                                    "federates": federates, "connections": connections or []}, sort_keys=False))
    return path


def results(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_fixture_refuses_a_structural_parameter_outside_configuration_mode(config3_fmu: Path) -> None:
    """What makes the tests below honest: set as an ordinary parameter, the FMU refuses it."""
    md = fmpy.read_model_description(str(config3_fmu), validate=False)
    unzipped = fmpy.extract(str(config3_fmu))
    fmu = FMU3Slave(guid=md.guid, unzipDirectory=unzipped, modelIdentifier="config3", instanceName="probe")
    fmu.instantiate()
    try:
        with pytest.raises(Exception, match="fmi3SetUInt64"):
            fmu.setUInt64([1], [4])
    finally:
        fmu.freeInstance()


def test_structural_parameters_are_set_in_configuration_mode(config3_fmu: Path, tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "scen", {
        "a": {"fmu": str(config3_fmu), "site": "lab", "parameters": {"n": 4, "m": 3, "k": 2.0}}})
    result = run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    assert result.status == "completed", result.error
    rows = results(tmp_path / "out")
    assert [float(r["a.count"]) for r in rows] == [0.0, 4.0, 8.0, 12.0]  # count += n
    assert {float(r["a.y"]) for r in rows} == {4.0 + 30.0}  # k * u + n + 10 * m, u = 0


def test_an_integer_output_feeds_a_real_input_in_every_mode(config3_fmu: Path, tmp_path: Path) -> None:
    """Int32 -> Float64 is exact, so it is accepted, and the input gets the integer's value in every mode."""
    path = write_scenario(tmp_path / "scen", {
        "a": {"fmu": str(config3_fmu), "site": "lab", "parameters": {"n": 3}},
        "b": {"fmu": str(config3_fmu), "site": "shop", "parameters": {"k": 0.5}, "expose": ["y"]},
    }, ["a.count -> b.u"])
    embedded = tmp_path / "embedded"
    assert run_embedded(load_scenario(path), embedded, plot=False).status == "completed"
    rows = results(embedded)
    # b steps with the count a published at the start of the step (Jacobi): y = 0.5 * u + 1 + 20
    assert [float(r["b.y"]) for r in rows] == [21.0 + 0.5 * u for u in (0, 0, 3, 6)]
    grpc = tmp_path / "grpc"
    done = subprocess.run([sys.executable, "-m", "federation.cli", "run", str(path), "--mode", "grpc", "--insecure",
                           "--no-plot", "--out", str(grpc)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (grpc / "results.csv").read_bytes() == (embedded / "results.csv").read_bytes()


def test_an_integer_output_beyond_what_a_real_input_holds_is_refused_saying_why(config3_fmu: Path,
                                                                               tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "scen", {
        "a": {"fmu": str(config3_fmu), "site": "lab"},
        "b": {"fmu": str(config3_fmu), "site": "shop"},
    }, ["a.big -> b.u"])
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "connections[0]: type mismatch: a.big is Int64, b.u is Float64" in message
    assert "exactly only up to 2**53" in message and "declare its min/max" in message
