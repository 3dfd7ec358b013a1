"""Errors of Python models and replay files during a run: each names the federate and the logical time."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.fmu.federate import FMUError, extract_fmu
from adapters.python import PythonModelError
from adapters.replay import ReplayError
from federation.errors import FederationFailed
from federation.runtime.embedded import run_embedded
from federation.scenario import Scenario, load_scenario

ScenarioFor = Callable[..., Scenario]

MODELS = '''
import json

class Base:
    inputs = {"f": "Hz"}
    outputs = {"y": "W", "z": "1"}

class WrongName(Base):
    def step(self, t, dt, inputs):
        return {"y": 1.0, "z": 2.0, "yy": 3.0}

class Missing(Base):
    def step(self, t, dt, inputs):
        return {"y": 1.0} if t < 20 else {"z": 1.0}

class Raises(Base):
    def step(self, t, dt, inputs):
        if t >= 10:
            raise ZeroDivisionError("boom")
        return {"y": 1.0, "z": 0.0}

class ParsesJSON(Base):
    def step(self, t, dt, inputs):
        return json.loads("{")

class RaisesInitially(Base):
    def initial_outputs(self):
        return {"y": 1.0 / 0, "z": 0.0}
    def step(self, t, dt, inputs):
        return {"y": 1.0, "z": 0.0}

class BadInitial(Base):
    def initial_outputs(self):
        return {"y": 0.0}
    def step(self, t, dt, inputs):
        return {"y": 1.0, "z": 0.0}

class Unbuildable(Base):
    def __init__(self):
        raise ValueError("gain must be set")

    def step(self, t, dt, inputs):
        return {"y": 1.0, "z": 0.0}

class OnlyExposed(Base):
    def step(self, t, dt, inputs):
        return {"y": inputs["f"]}
'''


@pytest.fixture
def scenario_for(tmp_path: Path) -> Iterator[ScenarioFor]:
    """scenario_for(model, expose=None) -> a loaded scenario: a replayed meter feeding toy_errmodels:<model>."""
    (tmp_path / "toy_errmodels.py").write_text(MODELS)
    (tmp_path / "meter.csv").write_text("time,f [Hz]\n0,50\n15,49.9\n")

    def build(model: str, expose: list[str] | None = None) -> Scenario:
        path = tmp_path / "scenario.yaml"
        path.write_text(textwrap.dedent(f"""
            federation: errors
            time: {{start: 0.0, stop: 40.0, step: 10.0}}
            federates:
              meter: {{replay: meter.csv, site: utility}}
              model: {{python: "toy_errmodels:{model}", site: op, expose: {expose or ['y', 'z']}}}
            connections: [meter.f -> model.f]
            """))
        return load_scenario(path)

    yield build
    sys.modules.pop("toy_errmodels", None)


def run_error(scenario: Scenario, out: Path) -> PythonModelError:
    """The model's error, which every mode reports in its own words (the run raises FederationFailed)."""
    with pytest.raises(FederationFailed) as info:
        run_embedded(scenario, out, plot=False)
    cause = info.value.__cause__
    assert isinstance(cause, PythonModelError) and str(info.value) == str(cause)
    return cause


def test_unknown_output_name_is_an_error(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    message = str(run_error(scenario_for("WrongName"), tmp_path / "out"))
    assert message.startswith("federate 'model': step at t=0.0 s returned unknown output 'yy'"), message
    assert "(declared: y, z)" in message


def test_missing_output_is_an_error_not_zero(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    message = str(run_error(scenario_for("Missing"), tmp_path / "out"))
    assert message == "federate 'model': step at t=0.0 s returned no value for output 'z'"


def test_unexposed_declared_output_may_be_omitted(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    result = run_embedded(scenario_for("OnlyExposed", expose=["y"]), tmp_path / "out", plot=False)
    assert result.status == "completed"
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert rows[0] == "time,meter.f,model.y" and rows[-1].endswith(",49.9,49.9")


def model_line(text: str) -> int:
    """The line number of `text` in the models' file."""
    return MODELS.splitlines().index(text) + 1


def test_model_exception_names_federate_time_file_and_line(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    error = run_error(scenario_for("Raises"), tmp_path / "out")
    line = model_line('            raise ZeroDivisionError("boom")')
    where = f"{tmp_path / 'toy_errmodels.py'}:{line} in step"
    assert str(error) == f"federate 'model': step at t=10.0 s raised ZeroDivisionError: boom (at {where})"
    assert isinstance(error.__cause__, ZeroDivisionError), "the model's traceback is kept"


def test_model_exception_in_initial_outputs_names_file_and_line(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    message = str(run_error(scenario_for("RaisesInitially"), tmp_path / "out"))
    line = model_line('        return {"y": 1.0 / 0, "z": 0.0}')
    assert message == (f"federate 'model': initial_outputs at t=0.0 s raised ZeroDivisionError: float division by zero "
                       f"(at {tmp_path / 'toy_errmodels.py'}:{line} in initial_outputs)")


def test_exception_raised_in_a_library_names_where_the_model_called_it(scenario_for: ScenarioFor,
                                                                       tmp_path: Path) -> None:
    message = str(run_error(scenario_for("ParsesJSON"), tmp_path / "out"))
    assert message.startswith("federate 'model': step at t=0.0 s raised JSONDecodeError: "), message
    line = model_line('        return json.loads("{")')
    model = f"{tmp_path / 'toy_errmodels.py'}:{line} in step"
    assert re.search(rf" \(at .*json{re.escape(os.sep)}decoder\.py:\d+ in \w+, called from {re.escape(model)}\)$",
                     message), message


def test_incomplete_initial_outputs(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    message = str(run_error(scenario_for("BadInitial"), tmp_path / "out"))
    assert message == "federate 'model': initial_outputs at t=0.0 s returned no value for output 'z'"


def test_replay_with_byte_order_mark_and_blank_rows_runs(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    (tmp_path / "meter.csv").write_bytes("time,f [Hz]\n0,50\n,\n15,49.9\n".encode("utf-8-sig"))
    result = run_embedded(scenario_for("OnlyExposed", expose=["y"]), tmp_path / "out", plot=False)
    assert result.status == "completed"
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert rows[1:] == ["0.0,50.0,0.0", "10.0,50.0,50.0", "20.0,49.9,50.0", "30.0,49.9,49.9", "40.0,49.9,49.9"]


def test_replay_file_broken_after_validation_names_the_federate(scenario_for: ScenarioFor, tmp_path: Path) -> None:
    scenario = scenario_for("OnlyExposed", expose=["y"])
    (tmp_path / "meter.csv").write_text("time,f [Hz]\n0,50\n15,\n")
    with pytest.raises(FederationFailed) as info:
        run_embedded(scenario, tmp_path / "out", plot=False)
    assert isinstance(info.value.__cause__, ReplayError) and info.value.federate == "meter"
    assert str(info.value) == f"federate 'meter': {tmp_path / 'meter.csv'}: row 3, column 'f': empty cell"


def test_a_model_constructor_that_raises_names_federate_file_and_line(scenario_for: ScenarioFor,
                                                                       tmp_path: Path) -> None:
    error = run_error(scenario_for("Unbuildable"), tmp_path / "out")
    line = model_line('        raise ValueError("gain must be set")')
    where = f"{tmp_path / 'toy_errmodels.py'}:{line} in __init__"
    assert str(error) == ("federate 'model': constructing Unbuildable at t=0.0 s raised ValueError: gain must be set "
                          f"(at {where})")


def test_a_damaged_fmu_leaves_no_extracted_files(fmu_dist: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fmu = tmp_path / "grid.fmu"
    shutil.copy(fmu_dist / "fmi2" / "grid.fmu", fmu)
    with zipfile.ZipFile(fmu, "a") as archive:
        archive.writestr("resources/table.bin", b"SAMPLE" * 100)  # stored: its bytes are in the file as written
    fmu.write_bytes(fmu.read_bytes().replace(b"SAMPLESAMPLE", b"SAMPLEXAMPLE", 1))  # CRC no longer matches
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(FMUError, match=r"grid\.fmu: cannot extract the FMU: Bad CRC-32 for file 'resources/table.bin'"):
        extract_fmu(fmu)
    assert list(scratch.iterdir()) == []


def test_fmu_initialization_error_names_federate_and_time(fmu_dist: Path, tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(f"""
        federation: init
        time: {{start: 5.0, stop: 15.0, step: 5.0}}
        federates:
          furnace: {{fmu: {fmu_dist / 'fmi2' / 'furnace.fmu'}, site: steelworks, parameters: {{T_set: -5.0}}}}
        """))
    with pytest.raises(FederationFailed) as info:
        run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    assert isinstance(info.value.__cause__, FMUError) and info.value.time == 5 * 10**9
    first, *log = str(info.value).splitlines()
    assert first.startswith("federate 'furnace' (furnace.fmu): initialization at t=5.0 s failed: "), first
    assert any("T_set must be in [300, 1550] K (got -5)" in line for line in log)
