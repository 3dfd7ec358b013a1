"""The examples of docs/federates.md run, and give what the page shows."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import yaml

from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "federates.md").read_text()


def run(folder: Path, scenario: dict[str, object]) -> list[list[str]]:
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    run_embedded(load_scenario(path), folder / "out", plot=False)
    return [line.split(",") for line in (folder / "out" / "results.csv").read_text().splitlines()]


def test_the_python_federate_example_runs(tmp_path: Path) -> None:
    (tmp_path / "doc_thermostat.py").write_text(re.search(r"```python\n(.*?)```", PAGE, re.S).group(1))  # type: ignore[union-attr]
    (tmp_path / "weather.csv").write_text("time,T [K]\n0,280\n100,300\n")
    rows = run(tmp_path, {
        "federation": "doc", "time": {"start": 0.0, "stop": 200.0, "step": 50.0},
        "federates": {"weather": {"replay": "weather.csv", "site": "a"},
                      "thermo": {"python": "doc_thermostat:Thermostat", "site": "b", "parameters": {"T_set": 290.0}}},
        "connections": ["weather.T -> thermo.T"],
        "interactions": {"Switched": {"parameters": ["active"], "publishers": ["thermo"], "to": {}}},
        "output": {"variables": ["weather.T", "thermo.heat", "thermo.on"]},  # two sites: named to be recorded
    })
    assert rows[0] == ["time", "weather.T", "thermo.heat", "thermo.on"]
    assert [r[2:] for r in rows[1:]] == [["0.0", "0.0"], ["2000.0", "1.0"], ["2000.0", "1.0"], ["0.0", "0.0"],
                                         ["0.0", "0.0"]]


def test_the_recording_grid_example_gives_the_rows_shown(tmp_path: Path) -> None:
    (tmp_path / "doc_grid_models.py").write_text(textwrap.dedent("""
        class Source:
            inputs = []
            outputs = ["y"]
            def initial_outputs(self):
                return {"y": 100.0}
            def step(self, t, dt, inputs):
                return {"y": t + dt}

        class Consumer:
            inputs = ["u"]
            outputs = ["seen"]
            def step(self, t, dt, inputs):
                return {"seen": inputs["u"]}
    """))
    rows = run(tmp_path, {
        "federation": "grid", "time": {"start": 0.0, "stop": 12.0, "step": 1.0},
        "federates": {"src": {"python": "doc_grid_models:Source", "site": "a", "step": 2.0},
                      "con": {"python": "doc_grid_models:Consumer", "site": "b", "step": 3.0}},
        "connections": ["src.y -> con.u"],
        "output": {"variables": ["src.y", "con.seen"]},
    })
    shown = re.search(r"```\n(time,src\.y,con\.seen\n.*?)```", PAGE, re.S).group(1)  # type: ignore[union-attr]
    expected = [line.split()[0].split(",") for line in shown.splitlines()]
    assert rows[:len(expected)] == expected
