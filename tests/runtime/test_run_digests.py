"""run.json records what makes results comparable: results.csv's digest, the scenario's with its overrides, and
each model file's, in every local mode and in a failed run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import federation

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_record(out: Path, overrides: dict[str, object]) -> dict[str, object]:
    info = json.loads((out / "run.json").read_text())
    assert info["results_sha256"] == sha256(out / "results.csv")
    assert info["scenario_sha256"] == sha256(FLAGSHIP)
    assert info["overrides"] == overrides
    models = info["models"]
    assert models["grid"] == {"../../fmus/dist/fmi3/grid.fmu": sha256(ROOT / "fmus/dist/fmi3/grid.fmu")}
    assert models["vehicle"] == {"../../fmus/dist/fmi2/vehicle.fmu": sha256(ROOT / "fmus/dist/fmi2/vehicle.fmu")}
    assert models["ems"]["ems.py"] == sha256(FLAGSHIP.parent / "ems.py")  # a Python model: its sources
    return dict(info)


@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_run_json_digests(mode: str, tmp_path: Path) -> None:
    overrides = {"time.stop": 120.0, "furnace.T_set": 1250.0}
    run = federation.run(federation.Scenario.load(FLAGSHIP, overrides), mode=mode, out=tmp_path / "run")
    assert run.status == "completed"
    info = check_record(tmp_path / "run", overrides)
    assert info["mode"] == mode


MODELS = """
class Ramp:
    inputs = {}
    outputs = {"y": "1"}

    def step(self, t, dt, inputs):
        if t >= 50:
            raise ArithmeticError(f"cannot go on past {t:g} s")
        return {"y": t + dt}
"""


@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_a_failed_run_records_the_digest_of_what_it_wrote(mode: str, tmp_path: Path) -> None:
    (tmp_path / "ramp_model.py").write_text(MODELS)
    scenario = tmp_path / "ramp.yaml"
    scenario.write_text("federation: ramp\ntime: {start: 0.0, stop: 100.0, step: 1.0}\n"
                        "federates: {ramp: {python: 'ramp_model:Ramp', site: a}}\noutput: {variables: [ramp.y]}\n")
    out = tmp_path / "run"
    run = federation.run(scenario, mode=mode, out=out)
    assert run.status == "failed" and 0 < len(run["ramp.y"].values) <= 51
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["results_sha256"] == sha256(out / "results.csv")
    assert info["scenario_sha256"] == sha256(scenario) and info["overrides"] == {}
    assert info["models"]["ramp"]["ramp_model.py"] == sha256(tmp_path / "ramp_model.py")


@pytest.mark.slow
def test_run_json_digests_on_ray(tmp_path: Path) -> None:
    """The coordinator holds no site's model: each site's host digests its own, and run.json gathers them."""
    ray = pytest.importorskip("ray")
    from federation.runtime.ray import shutdown_site_actors

    if ray.is_initialized():
        ray.shutdown()
    overrides = {"time.stop": 60.0}
    try:
        run = federation.run(federation.Scenario.load(FLAGSHIP, overrides), mode="ray", out=tmp_path / "run")
    finally:
        shutdown_site_actors()
        ray.shutdown()
    assert run.status == "completed"
    assert check_record(tmp_path / "run", overrides)["mode"] == "ray"
