"""Model Exchange FMUs (adapters.fmu.exchange) against fmpy's own ME master, alone and coupled, in every mode.

The FMUs are ours (cfmus/exchange.c, FMI 2 and FMI 3, built at test time): a bouncing ball (state events),
a timer (time events, an input) and a stepper (step events: completedIntegratorStep asks for one), each with
an output `t_event`, the time of its last event, so that equal columns mean equal event times.

1. alone, each equals fmpy.simulate_fmu(fmi_type='ModelExchange') with the same solver and relative tolerance,
   at its output points (record_events=False), within 1e-9 relative (in practice to the last bit);
2. the same in grpc mode, to the byte;
3. coupled with a co-simulation twin (the ring node, FMI 2) in a loop, in embedded and grpc mode to the same
   bytes; the ME side equals fmpy's run of it with the input it received as a piecewise-constant signal with
   discontinuities where it changed (what the federate applies as input events);
4. `interface:` chooses Model Exchange on an FMU that offers both; a failure inside the solver names the
   FMU function, the federate, the time and the FMU's own message.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import fmpy
import numpy as np
import pytest

from federation.errors import FederationFailed
from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario
from conformance import suite
from conformance.exchange_fmus import MODELS, OUTPUTS, build_exchange_fmu

REPO = Path(__file__).resolve().parents[2]
STOP, STEP = 2.0, 0.1
REL = 1e-9


@pytest.fixture(scope="session")
def me_fmus(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    """{(model, fmi version): FMU} for every test model, ME only."""
    root = tmp_path_factory.mktemp("me_fmus")
    return {(model, fmi): build_exchange_fmu(model, fmi, root / f"{model}{fmi}") for model in MODELS for fmi in (2, 3)}


def write_scenario(folder: Path, federates: dict[str, Any], connections: list[str] | None = None) -> Path:
    return suite.write_scenario(folder, federates, connections, federation="me", stop=STOP, step=STEP)


def run(path: Path, out: Path) -> dict[str, list[float]]:
    result = run_embedded(load_scenario(path), out, plot=False)
    assert result.status == "completed", result.error
    return suite.columns(out)


def run_grpc(path: Path, out: Path) -> dict[str, list[float]]:
    done = suite.cli_run(path, out, "direct")
    assert done.returncode == 0, done.stderr
    return suite.columns(out)


def reference(fmu: Path, model: str, solver: str = "CVode", tolerance: float | None = None,
              signals: np.ndarray | None = None) -> Any:
    return fmpy.simulate_fmu(str(fmu), fmi_type="ModelExchange", solver=solver, relative_tolerance=tolerance,
                             output_interval=STEP, stop_time=STOP, output=OUTPUTS[model], record_events=False,
                             input=signals)


def assert_matches(got: dict[str, list[float]], federate: str, model: str, expected: Any) -> None:
    assert len(got["time"]) == len(expected) == round(STOP / STEP) + 1
    assert all(math.isclose(a, float(b), rel_tol=REL) for a, b in zip(got["time"], expected["time"]))
    for name in OUTPUTS[model]:
        ours, theirs = got[f"{federate}.{name}"], [float(v) for v in expected[name]]
        bad = [(t, a, b) for t, a, b in zip(got["time"], ours, theirs) if not math.isclose(a, b, rel_tol=REL, abs_tol=1e-300)]
        assert not bad, f"{federate}.{name} differs from fmpy at (t, ours, fmpy): {bad[:3]}"


@pytest.mark.parametrize("solver", ["CVode", "Euler"])
@pytest.mark.parametrize("fmi", [2, 3])
@pytest.mark.parametrize("model", list(MODELS))
def test_alone_it_equals_fmpys_model_exchange_master(me_fmus: dict[tuple[str, int], Path], tmp_path: Path,
                                                     model: str, fmi: int, solver: str) -> None:
    fmu = me_fmus[(model, fmi)]
    got = run(write_scenario(tmp_path / "scen", {"m": {"fmu": str(fmu), "site": "lab", "solver": solver}}),
              tmp_path / "out")
    expected = reference(fmu, model, solver)
    assert_matches(got, "m", model, expected)
    assert got["m.count"][-1] >= 2, "the model had its events"


def test_the_tolerance_is_fmpys_relative_tolerance(me_fmus: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    fmu = me_fmus[("bounce", 3)]
    got = run(write_scenario(tmp_path / "scen", {"m": {"fmu": str(fmu), "site": "lab", "tolerance": 1e-8}}),
              tmp_path / "out")
    assert_matches(got, "m", "bounce", reference(fmu, "bounce", tolerance=1e-8))
    loose = [float(v) for v in reference(fmu, "bounce")["h"]]  # fmpy's default, 1e-5
    assert got["m.h"] != loose, "the tolerance changes the result: it is the one used"


def test_alone_in_grpc_mode_to_the_same_bytes(me_fmus: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    """The three models on three sites (three hosts), FMI 2 and 3 mixed, CVode and Euler."""
    path = write_scenario(tmp_path / "scen", {
        "ball": {"fmu": str(me_fmus[("bounce", 2)]), "site": "a", "expose": OUTPUTS["bounce"]},
        "timer": {"fmu": str(me_fmus[("timer", 3)]), "site": "b", "solver": "euler", "expose": OUTPUTS["timer"]},
        "stepper": {"fmu": str(me_fmus[("stepper", 3)]), "site": "c", "expose": OUTPUTS["stepper"]},
    })
    embedded = run(path, tmp_path / "embedded")
    run_grpc(path, tmp_path / "grpc")
    assert (tmp_path / "grpc" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
    assert_matches(embedded, "ball", "bounce", reference(me_fmus[("bounce", 2)], "bounce"))
    assert_matches(embedded, "timer", "timer", reference(me_fmus[("timer", 3)], "timer", "Euler"))
    assert_matches(embedded, "stepper", "stepper", reference(me_fmus[("stepper", 3)], "stepper"))


def held_input(times: list[float], values: list[float]) -> np.ndarray:
    """The input an ME federate received, as fmpy takes a discontinuous signal: held from each communication
    point to the next, with a repeated time stamp wherever it changes."""
    rows = [(times[0], values[0])]
    for t, previous, value in zip(times[1:], values, values[1:]):
        rows.append((t, previous))
        if value != previous:
            rows.append((t, value))
    return np.array(rows, dtype=[("time", np.float64), ("u", np.float64)])


@pytest.mark.parametrize("fmi", [2, 3])
def test_coupled_with_a_co_simulation_twin(me_fmus: dict[tuple[str, int], Path], fmu_dist: Path, tmp_path: Path,
                                           fmi: int) -> None:
    """node (co-simulation, FMI 2) -> timer.u, timer.x -> node.u: a loop across two sites."""
    fmu = me_fmus[("timer", fmi)]
    path = write_scenario(tmp_path / "scen", {
        "node": {"fmu": str(fmu_dist / "fmi2" / "node.fmu"), "site": "a", "parameters": {"gain": -0.5, "tau": 0.3},
                 "expose": ["y"]},
        "timer": {"fmu": str(fmu), "site": "b", "expose": OUTPUTS["timer"]},
    }, ["node.y -> timer.u", "timer.x -> node.u"])
    got = run(path, tmp_path / "embedded")
    # Jacobi: the timer steps from t_k with the node's output at t_k, the row of t_k
    signal = held_input(got["time"], got["node.y"])
    assert len(set(got["node.y"])) > 10, "the input changes: input events at most communication points"
    assert_matches(got, "timer", "timer", reference(fmu, "timer", signals=signal))
    if fmi == 3:
        run_grpc(path, tmp_path / "grpc")
        assert (tmp_path / "grpc" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()


def test_interface_key_runs_the_model_exchange_of_an_fmu_that_offers_both(tmp_path: Path) -> None:
    fmu = build_exchange_fmu("bounce", 2, tmp_path / "both", both=True)
    got = run(write_scenario(tmp_path / "scen", {"m": {"fmu": str(fmu), "site": "lab", "interface": "model_exchange"}}),
              tmp_path / "out")
    assert_matches(got, "m", "bounce", reference(fmu, "bounce"))
    # Without the key it would run as co-simulation, which this FMU does not implement: the run says so.
    with pytest.raises(FederationFailed, match="Failed to instantiate"):
        run_embedded(load_scenario(write_scenario(tmp_path / "cs", {"m": {"fmu": str(fmu), "site": "lab"}})),
                     tmp_path / "cs_out", plot=False)


def test_a_failure_inside_the_solver_names_the_call_the_federate_and_the_fmus_message(
        me_fmus: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "scen", {"m": {"fmu": str(me_fmus[("timer", 2)]), "site": "lab",
                                                    "parameters": {"k": -1.0}}})
    with pytest.raises(FederationFailed) as failed:
        run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    message = str(failed.value)
    assert "federate 'm' (timer.fmu): integrating to t=0.1 s failed" in message, message
    assert "fmi2GetDerivatives" in message and "k must not be negative" in message, message


@pytest.mark.slow
def test_coupled_in_ray_mode_to_the_same_bytes(me_fmus: dict[tuple[str, int], Path], fmu_dist: Path,
                                               tmp_path: Path) -> None:
    """The coupled loop above under `--mode ray` (a local Ray the command starts and stops)."""
    pytest.importorskip("ray")
    path = write_scenario(tmp_path / "scen", {
        "node": {"fmu": str(fmu_dist / "fmi2" / "node.fmu"), "site": "a", "parameters": {"gain": -0.5, "tau": 0.3},
                 "expose": ["y"]},
        "timer": {"fmu": str(me_fmus[("timer", 3)]), "site": "b", "expose": OUTPUTS["timer"]},
    }, ["node.y -> timer.u", "timer.x -> node.u"])
    run(path, tmp_path / "embedded")
    done = subprocess.run([sys.executable, "-m", "federation.cli", "run", str(path), "--mode", "ray", "--no-plot",
                           "--out", str(tmp_path / "ray")], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()


def test_a_model_whose_events_do_not_let_time_advance_fails_instead_of_hanging(
        me_fmus: dict[tuple[str, int], Path], tmp_path: Path) -> None:
    """A timer of period 0 schedules its next time event at the time of the last, for ever (fmpy loops)."""
    path = write_scenario(tmp_path / "scen", {"m": {"fmu": str(me_fmus[("timer", 3)]), "site": "lab",
                                                    "solver": "Euler", "parameters": {"period": 0.0}}})
    with pytest.raises(FederationFailed, match="without time advancing: the model chatters"):
        run_embedded(load_scenario(path), tmp_path / "out", plot=False)


@pytest.mark.parametrize("fmi", [2, 3])
def test_a_model_that_asks_to_end_the_simulation_ends_the_run_as_fmpy_ends_it(tmp_path: Path, fmi: int) -> None:
    """The bouncing ball asks to end at its third bounce, in that event's iteration: fmpy stops there, its last
    row the last output point before; so does the run, completed, with ended_by at that point."""
    fmu = build_exchange_fmu("bounce", fmi, tmp_path / "fmu", end_after=3)
    path = write_scenario(tmp_path / "scen", {"m": {"fmu": str(fmu), "site": "lab"}})
    result = run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    assert result.status == "completed", result.error
    got, expected = suite.columns(tmp_path / "out"), reference(fmu, "bounce")
    assert 1 < len(expected) < round(STOP / STEP) + 1  # it did end early
    assert len(got["time"]) == len(expected)
    assert all(math.isclose(a, float(b), rel_tol=REL) for a, b in zip(got["time"], expected["time"]))
    for name in OUTPUTS["bounce"]:
        assert all(math.isclose(a, float(b), rel_tol=REL) for a, b in zip(got[f"m.{name}"], expected[name])), name
    assert result.extra["ended_by"]["federate"] == "m" and result.extra["ended_by"]["time"] == got["time"][-1]
    assert "Model Exchange" in result.extra["ended_by"]["reason"]
    assert (tmp_path / "out" / "results.csv").read_bytes() == run_grpc_bytes(path, tmp_path / "grpc")


def run_grpc_bytes(path: Path, out: Path) -> bytes:
    run_grpc(path, out)
    return (out / "results.csv").read_bytes()
