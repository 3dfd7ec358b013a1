"""Fixtures for the Python API's tests: the built twins, small scenarios built in code, a Python model folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import federation

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
NOTEBOOK = ROOT / "examples" / "notebook_flagship.py"

MODELS = textwrap.dedent('''
    """Python models of the API's tests."""


    class Echo:
        """Records the frequency it sees, and its time."""

        inputs = {"f": "Hz"}
        outputs = {"seen": "Hz", "clock": "s"}

        def __init__(self, gain: float = 1.0) -> None:
            self.gain = gain

        def initial_outputs(self):
            return {"seen": 0.0, "clock": 0.0}

        def step(self, t, dt, inputs):
            return {"seen": self.gain * inputs["f"], "clock": t + dt}


    class Bomb(Echo):
        """An Echo that raises once its time reaches `at`."""

        def __init__(self, at: float = 30.0) -> None:
            super().__init__()
            self.at = at

        def step(self, t, dt, inputs):
            if t >= self.at:
                raise RuntimeError(f"exploded at t={t}")
            return super().step(t, dt, inputs)
''')


@pytest.fixture
def models(tmp_path: Path, fmu_dist: Path) -> Path:
    """A base folder holding models.py (Echo, Bomb), with the twin FMUs built."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "models.py").write_text(MODELS)
    return folder


def twins(stop: float = 120.0, base: Path = ROOT, **furnace: object) -> federation.Scenario:
    """Grid and furnace coupled both ways (two sites), built in code; `furnace` parameters given as keywords."""
    sc = federation.Scenario("two-twins", stop=stop, step=1.0, base=base)
    sc.add_fmu("grid", ROOT / "fmus/dist/fmi3/grid.fmu", site="utility", expose=["f", "v_pcc"])
    sc.add_fmu("furnace", ROOT / "fmus/dist/fmi3/furnace.fmu", site="furnace_maker", step=5.0,
               parameters=furnace or None, expose=["P_el"])
    return sc.connect("furnace.P_el", "grid.P_furnace").connect("grid.f", "furnace.f_grid")


def with_python(base: Path, model: str = "models:Echo", stop: float = 120.0,
                **parameters: object) -> federation.Scenario:
    """twins() with a python federate of the base folder fed by the grid's frequency, on a third site."""
    sc = twins(stop, base)
    sc.add_python("watch", model, site="operator", step=10.0, parameters=parameters or None)
    return sc.connect("grid.f", "watch.f").record(["grid.f", "furnace.P_el", "watch.seen", "watch.clock"])
