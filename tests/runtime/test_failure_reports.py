"""A federate that fails mid-run is reported alike in every mode: its words, its time, its rows.

Real FMUs and Python models, a real RTI and host processes (`federation run --mode grpc`).
Each failure is repeated, so that a race between the failing host, the RTI and the recorder
(which used to cut results.csv at a different row on every run) would show.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "federation.cli"]
REPEATS = 3

MODELS = '''
from typing import Mapping


class Source:
    inputs: dict = {}
    outputs = {"y": "1"}

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict:
        return {"y": t + dt}


class Faulty:
    """y = u + 1 until fail_at, where it raises."""

    inputs = {"u": "1"}
    outputs = {"y": "1"}

    def __init__(self, fail_at: float = float("inf")) -> None:
        self.fail_at = fail_at

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict:
        if t >= self.fail_at:
            raise ArithmeticError(f"cannot go on past {t:g} s")
        return {"y": inputs["u"] + 1.0}


class Unbuildable:
    inputs = {"u": "1"}
    outputs = {"y": "1"}

    def __init__(self, fail_at: float = 0.0) -> None:
        raise ValueError(f"no model for fail_at={fail_at}")

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict:
        return {"y": 0.0}


class Meter:
    inputs = {"p": "W"}
    outputs = {"kw": "kW"}

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict:
        return {"kw": inputs["p"] / 1000.0}
'''


def _python_chain(folder: Path) -> Path:
    (folder / "chain_models.py").write_text(MODELS)
    path = folder / "chain.yaml"
    path.write_text(textwrap.dedent("""
        federation: python-chain
        time: {start: 0.0, stop: 4000.0, step: 1.0}
        federates:
          src: {python: "chain_models:Source", site: alpha, step: 1.0}
          mid: {python: "chain_models:Faulty", site: beta, step: 1.0}
          end: {python: "chain_models:Faulty", site: gamma, step: 4.0, parameters: {fail_at: 700.0}}
        connections: [src.y -> mid.u, mid.y -> end.u]
        output: {variables: [src.y, mid.y, end.y]}
        """))
    return path


def _fmu_chain(folder: Path, fmu: Path) -> Path:
    # The furnace FMU returns an error status from doStep when its frequency input is not finite.
    rows = "".join(f"{t},{'nan' if t == 300 else 50.0}\n" for t in range(0, 601, 10))
    (folder / "meter.csv").write_text("time,f\n" + rows)
    (folder / "chain_models.py").write_text(MODELS)
    path = folder / "fmu_chain.yaml"
    path.write_text(textwrap.dedent(f"""
        federation: fmu-chain
        time: {{start: 0.0, stop: 600.0, step: 1.0}}
        federates:
          meter: {{replay: meter.csv, site: utility, step: 1.0}}
          furnace: {{fmu: {fmu}, site: furnace_maker, step: 5.0}}
          watcher: {{python: "chain_models:Meter", site: operator, step: 2.0}}
        connections: [meter.f -> furnace.f_grid, furnace.P_el -> watcher.p]
        output: {{variables: [meter.f, furnace.P_el, watcher.kw]}}
        """))
    return path


def _run(scenario: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # From the scenario's folder: its Python models are importable there in every mode.
    return subprocess.run(CLI + ["run", str(scenario), "--out", str(out), "--no-plot", *args], cwd=scenario.parent,
                          capture_output=True, text=True, timeout=180, env={**os.environ, "TMPDIR": str(out.parent)})


def _outcome(out: Path) -> tuple[str, dict[str, object], bytes]:
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["last_time_s"] == info["failure"]["time_s"]
    return info["error"], info["failure"], (out / "results.csv").read_bytes()


def _check_every_mode_alike(scenario: Path, tmp_path: Path, federate: str, site: str, at: float,
                            words: list[str], built: bool = True) -> None:
    embedded = _run(scenario, tmp_path / "embedded")
    assert embedded.returncode == 1, embedded.stderr
    error, failure, rows = _outcome(tmp_path / "embedded")
    assert failure == {"federate": federate, "site": site, "time_s": at}
    assert error.startswith(f"federate {federate!r}") and all(w in error for w in words), error
    assert error in embedded.stderr
    times = [float(line.split(",")[0]) for line in rows.decode().splitlines()[1:]]
    assert times[-1:] == ([at] if built else []), "the rows up to the failing federate's time are kept, no more"
    for i in range(REPEATS):
        out = tmp_path / f"grpc{i}"
        run = _run(scenario, out, "--mode", "grpc")
        assert run.returncode == 1, run.stderr
        assert _outcome(out) == (error, failure, rows), f"grpc run {i} differs from embedded:\n{run.stderr}"
        assert error in run.stderr and "stream closed" not in run.stderr
        assert error in (out / "logs" / f"host-{site}.log").read_text(), "the failing host logs its reason"


@pytest.mark.slow
def test_a_python_model_that_raises_is_reported_alike_in_every_mode(tmp_path: Path) -> None:
    _check_every_mode_alike(_python_chain(tmp_path), tmp_path, "end", "gamma", 700.0,
                            ["step at t=700.0 s", "ArithmeticError: cannot go on past 700 s"])


@pytest.mark.slow
def test_a_model_that_cannot_be_constructed_is_reported_alike_in_every_mode(tmp_path: Path) -> None:
    scenario = _python_chain(tmp_path)
    scenario.write_text(scenario.read_text().replace("chain_models:Faulty\", site: gamma",
                                                     "chain_models:Unbuildable\", site: gamma"))
    _check_every_mode_alike(scenario, tmp_path, "end", "gamma", 0.0,
                            ["constructing Unbuildable", "ValueError: no model for fail_at=700.0"], built=False)


@pytest.mark.slow
@pytest.mark.parametrize("version", ["fmi2", "fmi3"])
def test_an_fmu_error_status_is_reported_alike_in_every_mode(fmu_dist: Path, tmp_path: Path, version: str) -> None:
    # The meter's nan stamped 300 s reaches the furnace for its step at 300 s.
    _check_every_mode_alike(_fmu_chain(tmp_path, fmu_dist / version / "furnace.fmu"), tmp_path, "furnace",
                            "furnace_maker", 300.0, ["doStep at t=300.0 s", "f_grid is not finite"])
