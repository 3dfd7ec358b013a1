"""`Scenario.recording_notes`: warnings, not errors, about outputs left unrecorded and runs that record nothing."""

from __future__ import annotations

from pathlib import Path

import fmpy

from federation.scenario import load_scenario

from .conftest import ScenarioWriter, base_scenario, make_fmu, one_site

FMI3_BINARY = f"binaries/{fmpy.platform_tuple}/toy{fmpy.sharedLibraryExtension}"
CAMERA = """
    <String name="image" valueReference="1" causality="output" variability="discrete" initial="exact">
      <Dimension start="2"/><Start value="a"/><Start value="b"/></String>
    <String name="label" valueReference="2" causality="output" variability="discrete" initial="exact">
      <Start value="x"/></String>"""


def notes(write_scenario: ScenarioWriter, data: dict[str, object]) -> list[tuple[str, str]]:
    return [(n.key, n.message) for n in load_scenario(write_scenario(data)).recording_notes()]


def test_a_valid_scenario_that_records_its_outputs_has_no_note(write_scenario: ScenarioWriter) -> None:
    assert notes(write_scenario, base_scenario()) == []


def test_outputs_that_cannot_travel_are_named_with_why(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "camera.fmu", CAMERA, fmi_version="3.0", binary=FMI3_BINARY)
    data = base_scenario()
    data["federates"]["camera"] = {"fmu": "camera.fmu", "site": "lab"}
    assert notes(write_scenario, data) == []  # several sites: camera shares nothing unconnected anyway
    one_site(data)  # one site: every output is shared and recorded, but for those that cannot travel
    assert notes(write_scenario, data) == [
        ("federates.camera", "outputs not exposed nor recorded, as only Real, Integer or Boolean values (and arrays "
                             "of them) travel: image (a String array), label (a String variable)")]
    # named outputs leave nothing out unsaid
    data["output"] = {"variables": ["grid.f"]}
    assert notes(write_scenario, data) == []


def test_nothing_recorded_is_a_warning_saying_why(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "camera.fmu", CAMERA, fmi_version="3.0", binary=FMI3_BINARY)
    data = {"federation": "blind", "time": {"stop": 10.0, "step": 1.0},
            "federates": {"camera": {"fmu": "camera.fmu", "site": "lab"},
                          "grid": {"fmu": "../fmus/grid.fmu", "site": "utility", "expose": []}}}
    found = notes(write_scenario, data)
    assert [key for key, _ in found] == ["federates"]
    assert found[0][1].startswith("nothing will be recorded: no federate exposes a scalar Real, Integer or Boolean "
                                  "output (camera: no expose list, and none of its outputs is connected; grid: "
                                  "expose is empty)")
    found = notes(write_scenario, one_site(data))
    assert [key for key, _ in found] == ["federates.camera", "federates"]
    assert found[1][1].startswith("nothing will be recorded: no federate exposes a scalar Real, Integer or Boolean "
                                  "output (camera: no output that can travel; grid: expose is empty)")
    data["federates"]["grid"]["expose"] = ["f"]
    data["output"] = {"variables": []}
    assert notes(write_scenario, data)[-1][:1] == ("output.variables",)
    assert "nothing will be recorded: the list is empty" in notes(write_scenario, data)[-1][1]
