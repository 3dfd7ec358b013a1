"""A sweep reuses a run only when everything that determines its result is unchanged (no Ray).

The scenario uses every kind of model file: an FMU, a replay CSV and a Python model whose module
imports a constant from a sibling module.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from federation.sweeps import expand, parse_param, run_sweep

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """\
federation: reuse
time: {start: 0.0, stop: 60.0, step: 10.0}
federates:
  grid: {fmu: fmus/grid.fmu, owner: utility, step: 1.0, expose: [f]}
  meter: {replay: data/load.csv, owner: utility}
  scale: {python: "reuse_scale:Scale", owner: operator}
connections:
  - meter.P -> scale.u
  - scale.y -> grid.P_ev
output: {variables: [grid.f, scale.y]}
"""
MODEL = """\
import os
import time

from reuse_consts import OFFSET


class Scale:
    inputs = {"u": "W"}
    outputs = {"y": "W"}

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def step(self, t, dt, inputs):
        marker = os.environ.get("REUSE_HANG_MARKER")  # a test kills the sweep while this hangs
        if marker and t >= 30.0:
            open(marker, "w").close()
            time.sleep(3600)
        return {"y": self.gain * inputs["u"] + OFFSET}
"""
REUSED = "reused: identical inputs"
PARAMS = [parse_param("scale.gain=1,2")]


@pytest.fixture
def scenario(tmp_path: Path, fmu_dist: Path) -> Path:
    project = tmp_path / "project"
    (project / "fmus").mkdir(parents=True)
    (project / "data").mkdir()
    shutil.copy(fmu_dist / "fmi3" / "grid.fmu", project / "fmus" / "grid.fmu")
    (project / "data" / "load.csv").write_text("time,P [W]\n0,1000000.0\n30,2000000.0\n")
    (project / "reuse_scale.py").write_text(MODEL)
    (project / "reuse_consts.py").write_text("OFFSET = 0.0\n")
    path = project / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(autouse=True)
def _forget_models() -> Iterator[None]:
    """Each test imports its own copy of the models from its tmp folder."""
    yield
    for name in [m for m in sys.modules if m.startswith("reuse_")]:
        del sys.modules[name]


def sweep(scenario: Path, out: Path, force: bool = False, **overrides: object) -> list[dict[str, str]]:
    run_sweep(scenario, expand(PARAMS), out, overrides, mode="embedded", force=force)
    with open(out / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def reused(rows: list[dict[str, str]]) -> list[bool]:
    assert all(r["status"] == "completed" for r in rows), rows
    return [r["skipped"] == "true" for r in rows]


def test_unchanged_inputs_are_reused(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    first = sweep(scenario, out)
    assert reused(first) == [False, False] and [r["reason"] for r in first] == ["", ""]
    again = sweep(scenario, out)
    assert reused(again) == [True, True] and [r["reason"] for r in again] == [REUSED, REUSED]
    assert [r["scale.y.max"] for r in again] == [r["scale.y.max"] for r in first]
    record = json.loads((out / "scale.gain=1" / "params.json").read_text())
    assert set(record["inputs"]["models"]["scale"]) >= {"reuse_scale.py", "reuse_consts.py"}
    assert list(record["inputs"]["models"]["meter"]) == ["data/load.csv"]


def test_an_edited_scenario_runs_again_with_its_new_values(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    sweep(scenario, out)
    scenario.write_text(SCENARIO.replace("stop: 60.0", "stop: 120.0"))
    rows = sweep(scenario, out)
    assert reused(rows) == [False, False] and [r["reason"] for r in rows] == ["scenario changed"] * 2
    for row in rows:
        info = json.loads((out / row["run"] / "run.json").read_text())
        assert info["last_time_s"] == 120.0 and info["time"]["stop"] == 120.0
        with open(out / row["run"] / "results.csv") as fh:
            assert list(csv.reader(fh))[-1][0] == "120.0"
    assert reused(sweep(scenario, out)) == [True, True]


def _replace(old: str, new: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
    return edit


def _repack(path: Path) -> None:
    """The same FMU with one more file in its archive: other bytes, same model."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("documentation/notes.txt", "rebuilt")


@pytest.mark.parametrize("file, edit, reason, y_max", [
    ("data/load.csv", _replace("2000000.0", "3000000.0"), "model meter changed (data/load.csv)", 3e6),
    ("reuse_scale.py", _replace("self.gain * inputs", "2 * self.gain * inputs"),
     "model scale changed (reuse_scale.py)", 4e6),
    ("reuse_consts.py", _replace("OFFSET = 0.0", "OFFSET = 5.0"), "model scale changed (reuse_consts.py)", 2e6 + 5),
    ("fmus/grid.fmu", _repack, "model grid changed (fmus/grid.fmu)", 2e6),
], ids=["replay-csv", "python-module", "module-it-imports", "fmu"])
def test_an_edited_model_file_runs_again(scenario: Path, tmp_path: Path, file: str, edit: Callable[[Path], None],
                                          reason: str, y_max: float) -> None:
    out = tmp_path / "sweep"
    before = sweep(scenario, out)
    edit(scenario.parent / file)
    rows = sweep(scenario, out)  # in this process too, which imported the Python model before the edit
    assert reused(rows) == [False, False] and [r["reason"] for r in rows] == [reason] * 2
    assert float(rows[0]["scale.y.max"]) == y_max  # gain 1: what the edited model computes
    if file == "fmus/grid.fmu":
        assert [r["grid.f.min"] for r in rows] == [r["grid.f.min"] for r in before]
    assert reused(sweep(scenario, out)) == [True, True]


def test_other_versions_overrides_and_force_say_why_they_run_again(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    sweep(scenario, out)
    # a run recorded by another version of the tool, and one by a version that recorded no digests
    record_path = out / "scale.gain=1" / "params.json"
    record = json.loads(record_path.read_text())
    current = record["inputs"]["versions"]["federation"]
    record["inputs"]["versions"]["federation"] = "0.0.1"
    record_path.write_text(json.dumps(record))
    old_format = out / "scale.gain=2" / "params.json"
    old_format.write_text(json.dumps({k: v for k, v in json.loads(old_format.read_text()).items() if k != "inputs"}))
    rows = sweep(scenario, out)
    assert reused(rows) == [False, False]
    assert [r["reason"] for r in rows] == [f"tool version changed 0.0.1 -> {current}",
                                           "the earlier run recorded no digests of its inputs"]
    rows = sweep(scenario, out, **{"time.stop": 30.0})
    assert [r["reason"] for r in rows] == ["overrides changed (time.stop unset -> 30.0)"] * 2
    rows = sweep(scenario, out, force=True, **{"time.stop": 30.0})
    assert reused(rows) == [False, False] and [r["reason"] for r in rows] == ["forced (--force)"] * 2


def test_cli_sweep_says_which_runs_it_reused_and_why_others_ran_again(scenario: Path, tmp_path: Path) -> None:
    def cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "federation.cli", "sweep", str(scenario), "--param", "scale.gain=1,2",
             "--mode", "embedded", "--out", str(tmp_path / "s")],
            cwd=tmp_path, capture_output=True, text=True, timeout=120)

    first = cli()
    assert first.returncode == 0, first.stderr
    assert "2 runs, 2 completed (0 reused: identical inputs), 0 failed" in first.stdout
    second = cli()
    assert "2 runs, 2 completed (2 reused: identical inputs), 0 failed" in second.stdout, second.stdout
    _replace("self.gain * inputs", "3 * self.gain * inputs")(scenario.parent / "reuse_scale.py")
    third = cli()
    assert "2 runs, 2 completed (0 reused: identical inputs), 0 failed" in third.stdout, third.stdout
    assert "run again (model scale changed (reuse_scale.py)): 2 runs" in third.stderr, third.stderr
    with open(tmp_path / "s" / "summary.csv") as fh:
        assert [float(r["scale.y.max"]) for r in csv.DictReader(fh)] == [6e6, 12e6]


def test_a_run_killed_in_the_middle_is_not_taken_for_the_run_its_folder_held(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    sweep(scenario, out)
    scenario.write_text(SCENARIO.replace("stop: 60.0", "stop: 120.0"))
    marker = tmp_path / "hanging"
    proc = subprocess.Popen(
        [sys.executable, "-m", "federation.cli", "sweep", str(scenario), "--param", "scale.gain=1,2",
         "--mode", "embedded", "--out", str(out)],
        cwd=tmp_path, env={**os.environ, "REUSE_HANG_MARKER": str(marker)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep never reached the hanging step"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no clean-up: as a crash or an out-of-memory kill
        proc.wait()
    rows = sweep(scenario, out)
    assert reused(rows) == [False, False], "the killed run was reused"
    assert [r["reason"] for r in rows] == ["the earlier run did not finish", "scenario changed"]
    info = json.loads((out / "scale.gain=1" / "run.json").read_text())
    assert info["status"] == "completed" and info["last_time_s"] == 120.0
