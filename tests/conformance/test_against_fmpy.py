"""The suite's FMUs (the twins, arrays...) alone and the twins coupled, in every mode, against fmpy as the reference master: the same numbers.

Alone: `fmpy.simulate_fmu` on each FMU. Coupled: the suite's Jacobi master on fmpy's FMU classes. The step
(0.25 s) is a binary fraction, so fmpy's communication points (start + n * interval) are our logical times.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance import suite


@pytest.mark.parametrize("mode", ["embedded", "relay", "direct"])
def test_every_fmu_alone_gives_fmpy_s_numbers(fmu_dist: Path, tmp_path: Path, mode: str) -> None:
    cases = [c for c in suite.all_cases() if not c.solo]  # those that end the run: test_termination.py
    found = suite.alone(cases, tmp_path, mode, stop=10.0, step=0.25)
    assert {name: d for name, d in found.items() if not d.within(0.0)} == {}
    assert all(d.rows == 41 for d in found.values())


@pytest.mark.slow
def test_on_ray_every_fmu_alone_gives_fmpy_s_numbers(fmu_dist: Path, tmp_path: Path) -> None:
    cases = [c for c in suite.all_cases() if not c.solo]  # one federation (those that end it: test_termination.py)
    found = suite.alone(cases, tmp_path, "ray", stop=10.0, step=0.25)
    assert {name: d for name, d in found.items() if not d.within(0.0)} == {}


CONNECTIONS = [("furnace.P_el", "grid.P_furnace"), ("vehicle.P_ev", "grid.P_ev"), ("grid.f", "furnace.f_grid"),
               ("grid.f", "vehicle.f_grid")]
RECORDED = ["grid.f", "grid.v_pcc", "furnace.P_el", "furnace.T_chamber", "vehicle.P_ev", "vehicle.soc_mean"]


@pytest.mark.parametrize("mode", ["embedded", "direct"])
def test_the_coupled_twins_give_the_fmpy_jacobi_master_s_numbers(fmu_dist: Path, tmp_path: Path, mode: str) -> None:
    fmus = {"grid": fmu_dist / "fmi3" / "grid.fmu", "furnace": fmu_dist / "fmi3" / "furnace.fmu",
            "vehicle": fmu_dist / "fmi2" / "vehicle.fmu"}
    parameters = {"grid": {"H": 5.0}, "furnace": {"T_set": 1300.0}}
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({
        "federation": "coupled", "time": {"start": 0.0, "stop": 600.0, "step": 1.0},
        "federates": {name: {"fmu": str(fmu), "site": name, "parameters": parameters.get(name, {})}
                      for name, fmu in fmus.items()},
        "connections": [f"{src} -> {dst}" for src, dst in CONNECTIONS],
        "output": {"variables": RECORDED}}, sort_keys=False))
    header, rows, _ = suite.run(path, tmp_path / "out", mode)
    assert header == ["time", *RECORDED]
    assert rows == suite.jacobi_reference(fmus, parameters, CONNECTIONS, 600.0, 1.0, RECORDED)
