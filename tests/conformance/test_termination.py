"""An FMU that asks to end the simulation ends the run there, as fmpy's master does: completed, last step kept.

ending2.fmu (FMI 2: doStep returns fmi2Discard, fmi2Terminated true, fmi2LastSuccessfulTime) and ending3.fmu
(FMI 3: terminateSimulation, completing the step or returning early at lastSuccessfulTime) end at t_end.
Alone, the rows equal fmpy.simulate_fmu's, the final one included; coupled, the run stops there in every
mode with the same bytes; `on_terminate` makes it a failure or lets the others run on.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import fmpy
import pytest

from conformance import suite
from conformance.cfmu import build_c_fmu

MODES = ["embedded", "relay", "direct"]


@pytest.fixture(scope="module")
def ending(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    build = tmp_path_factory.mktemp("ending")
    return {v: build_c_fmu(f"ending{v}.c", f"ending{v}.xml", build) for v in (2, 3)}


def scenario(folder: Path, federates: dict[str, Any], connections: list[str] | None = None, stop: float = 5.0,
             **extra: Any) -> Path:
    return suite.write_scenario(folder, federates, connections, federation="ending", stop=stop, step=1.0, **extra)


def run(path: Path, out: Path, mode: str = "embedded") -> tuple[subprocess.CompletedProcess[str], dict[str, Any],
                                                                list[list[str]]]:
    done = suite.cli_run(path, out, mode, timeout=240)
    record = json.loads((out / "run.json").read_text())
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    return done, record, rows


CASES = {  # name: (FMI version, parameters, fmpy's keyword arguments, where it ends, END_REASONS key)
    "fmi2-discard": (2, {}, {}, 2.5, 1),
    "fmi3-terminate": (3, {}, {}, 3.0, 2),
    "fmi3-early-return": (3, {"early": 1.0}, {"early_return_allowed": True}, 2.5, 3),
}


@pytest.mark.parametrize("case", CASES)
def test_alone_the_rows_equal_fmpy_s_the_last_one_included(ending: dict[int, Path], tmp_path: Path, case: str) -> None:
    version, parameters, fmpy_args, end, _ = CASES[case]
    path = scenario(tmp_path, {"ending": {"fmu": str(ending[version]), "site": "lab", "parameters": parameters}})
    done, record, rows = run(path, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    reference = fmpy.simulate_fmu(str(ending[version]), stop_time=5.0, output_interval=1.0, output=["y", "z"],
                                  start_values=parameters, **fmpy_args)
    assert rows[0] == ["time", "ending.y", "ending.z"]
    assert [[float(x) for x in row] for row in rows[1:]] == [[r["time"], r["y"], r["z"]] for r in reference]
    assert float(rows[-1][0]) == end
    assert record["status"] == "completed" and record["error"] is None
    assert record["ended_by"]["federate"] == "ending" and record["ended_by"]["time"] == end


@pytest.mark.parametrize(("case", "mode"), [(case, "direct") for case in CASES] + [("fmi3-early-return", "relay")])
def test_alone_every_mode_writes_the_embedded_bytes(ending: dict[int, Path], tmp_path: Path, case: str,
                                                    mode: str) -> None:
    version, parameters, _, end, reason = CASES[case]
    path = scenario(tmp_path, {"ending": {"fmu": str(ending[version]), "site": "lab", "parameters": parameters}})
    _, embedded, _ = run(path, tmp_path / "embedded")
    done, record, _ = run(path, tmp_path / mode, mode)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / mode / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
    assert record["status"] == "completed" and record["ended_by"] == embedded["ended_by"]
    from federation.coupling import END_REASONS

    assert record["ended_by"] == {"federate": "ending", "time": end, "reason": END_REASONS[reason]}


def coupled(tmp_path: Path, ending: dict[int, Path], **extra: Any) -> Path:
    """Two sites; the partner would run for a day of simulated time if the end did not stop it."""
    return scenario(tmp_path, {
        "ending": {"fmu": str(ending[2]), "site": "lab"},
        "partner": {"fmu": str(ending[3]), "site": "other", "parameters": {"t_end": 1.0e6}},
    }, ["partner.z -> ending.u", "ending.z -> partner.u"], stop=86400.0, **extra)


@pytest.mark.parametrize("mode", MODES)
def test_coupled_the_run_stops_where_the_model_ended_it(ending: dict[int, Path], tmp_path: Path, mode: str) -> None:
    done, record, rows = run(coupled(tmp_path, ending), tmp_path / mode, mode)
    assert done.returncode == 0, done.stderr
    assert record["status"] == "completed" and record["ended_by"]["time"] == 2.5
    # The final row: the ending model's values at 2.5, its partner's as they stood before (its step to 3 is not
    # kept); z grows by u * dt + 1 per step, each fed the other's z.
    assert rows == [["time", "ending.z", "partner.z"], ["0.0", "0.0", "0.0"], ["1.0", "1.0", "1.0"],
                    ["2.0", "3.0", "3.0"], ["2.5", "5.5", "3.0"]]


def test_on_terminate_fail_fails_the_run_naming_the_federate(ending: dict[int, Path], tmp_path: Path) -> None:
    done, record, rows = run(coupled(tmp_path, ending, on_terminate="fail"), tmp_path / "out")
    assert done.returncode == 1
    assert "federate 'ending' at t=2.5 s" in done.stderr and "on_terminate: fail" in done.stderr, done.stderr
    assert record["status"] == "failed" and "ended_by" not in record
    assert rows[-1][0] == "2.0"  # the step that asked to end is not kept


@pytest.mark.parametrize("mode", ["embedded", "direct"])
def test_on_terminate_continue_holds_its_last_outputs(ending: dict[int, Path], tmp_path: Path, mode: str) -> None:
    path = scenario(tmp_path, {
        "ending": {"fmu": str(ending[2]), "site": "lab", "on_terminate": "continue"},
        "partner": {"fmu": str(ending[3]), "site": "other", "parameters": {"t_end": 1.0e6}, "expose": ["z"]},
    }, ["ending.z -> partner.u"], stop=6.0, output={"variables": ["ending.z", "partner.z"]})
    done, record, rows = run(path, tmp_path / mode, mode)
    assert done.returncode == 0, done.stderr
    assert record["status"] == "completed" and "ended_by" not in record
    assert [t["federate"] for t in record["terminated"]] == ["ending"] and record["terminated"][0]["time"] == 2.5
    assert [r[0] for r in rows[1:]] == ["0.0", "1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]
    assert {r[1] for r in rows[4:]} == {"3.0"}  # its last value (at 2.5, stamped 3), held
    # The partner integrates the held value: z += 3.0 * 1 + 1 per step from t = 3 on.
    assert [float(r[2]) for r in rows[4:]] == [6.0, 10.0, 14.0, 18.0]


def test_a_python_model_may_end_the_run_too(ending: dict[int, Path], tmp_path: Path) -> None:
    (tmp_path / "ender.py").write_text(
        "from adapters.python.federate import StepResult\n\n\n"
        "class Ender:\n"
        "    inputs = ['seen']\n"
        "    outputs = ['count']\n\n"
        "    def __init__(self):\n"
        "        self.count = 0.0\n\n"
        "    def step(self, t, dt, inputs):\n"
        "        self.count += 1\n"
        "        return StepResult({'count': self.count}, end=inputs['seen'] >= 3.0)\n")
    path = scenario(tmp_path, {
        "ender": {"python": "ender:Ender", "site": "lab"},
        "fmu": {"fmu": str(ending[3]), "site": "lab", "parameters": {"t_end": 1.0e6}},
    }, ["fmu.z -> ender.seen"], stop=100.0)
    done, record, rows = run(path, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert record["ended_by"] == {"federate": "ender", "time": 4.0,  # it saw 3.0 at t = 3, in its step to 4
                                  "reason": "the Python model asked to end the simulation"}
    assert rows[-1][0] == "4.0" and len(rows) == 6


def test_a_scenario_s_on_terminate_must_be_one_of_three(ending: dict[int, Path], tmp_path: Path) -> None:
    path = scenario(tmp_path, {"ending": {"fmu": str(ending[2]), "site": "lab"}}, on_terminate="halt")
    done = subprocess.run([sys.executable, "-m", "federation.cli", "validate", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "on_terminate" in done.stderr and "'stop'" in done.stderr, done.stderr


@pytest.mark.slow
def test_on_ray_the_run_stops_where_the_model_ended_it(ending: dict[int, Path], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    import federation
    from federation.runtime.ray import shutdown_site_actors

    path = coupled(tmp_path, ending)
    embedded = federation.run(path, out=tmp_path / "embedded")
    try:
        on_ray = federation.run(path, mode="ray", out=tmp_path / "ray", insecure=True)
    finally:
        shutdown_site_actors()
        ray.shutdown()
    assert on_ray.status == "completed" and on_ray.record["ended_by"] == embedded.record["ended_by"]
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()


def test_the_python_api_sets_on_terminate_for_the_scenario_and_a_federate(ending: dict[int, Path],
                                                                          tmp_path: Path) -> None:
    import federation

    sc = federation.Scenario("ending", stop=5.0, step=1.0, on_terminate="continue")
    sc.add_fmu("ending", ending[2], site="lab")
    sc.add_fmu("strict", ending[3], site="lab", parameters={"t_end": 4.0}, on_terminate="fail")
    run = federation.run(sc, out=tmp_path / "out")
    assert run.status == "failed" and "federate 'strict' at t=4.0 s" in str(run.error)
    assert run.record["terminated"][0]["federate"] == "ending"  # it ended at 2.5; the others ran on
