"""End-to-end runs of the embedded runtime on real FMUs and Python federates."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path

import fmpy
import pytest

from adapters.fmu.federate import FMUError
from federation.errors import FederationFailed
from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def read_csv(path: Path) -> tuple[list[str], list[list[float]]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [[float(x) for x in r] for r in rows[1:]]


def write(tmp: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def flagship_run(fmu_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flagship")
    result = run_embedded(load_scenario(FLAGSHIP), out)
    assert result.status == "completed"
    return out


def test_flagship_results_cover_every_step_and_couple_the_twins(flagship_run: Path) -> None:
    header, rows = read_csv(flagship_run / "results.csv")
    assert header[:3] == ["time", "grid.f", "grid.v_pcc"] and "ems.curtail" in header
    times = [r[0] for r in rows]
    assert times == [5.0 * k for k in range(86400 // 5 + 1)]
    col = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    assert all(49.0 < f < 51.0 for f in col["grid.f"])
    assert all(0.0 <= s <= 1.0 for s in col["vehicle.soc_mean"])
    # coupling: the furnace's power steps move the grid frequency
    assert min(col["grid.f"]) < 49.97 < 50.0 < max(col["grid.f"])
    # the dispatcher's DemandResponse (evening peak 17:30-20:00, curtail 0.5) caps the furnace
    peak = [p for t, p in zip(times, col["furnace.P_el"]) if 17.6 * 3600 <= t < 20.0 * 3600]
    off_peak = [p for t, p in zip(times, col["furnace.P_el"]) if t < 17.5 * 3600]
    assert max(peak) <= 0.5 * 10e6 + 1.0 < max(off_peak)
    assert (flagship_run / "results.png").stat().st_size > 10_000
    info = json.loads((flagship_run / "run.json").read_text())
    assert info["status"] == "completed" and info["steps"]["grid"] == 86400 and info["steps"]["vehicle"] == 2880
    assert len(info["scenario_sha256"]) == 64


def test_flagship_is_deterministic_byte_for_byte(flagship_run: Path, tmp_path: Path) -> None:
    run_embedded(load_scenario(FLAGSHIP), tmp_path, plot=False)
    assert (tmp_path / "results.csv").read_bytes() == (flagship_run / "results.csv").read_bytes()


@pytest.mark.parametrize("version", ["fmi2", "fmi3"])
def test_single_fmu_federation_reproduces_fmpy_simulate(fmu_dist: Path, tmp_path: Path, version: str) -> None:
    fmu = fmu_dist / version / "grid.fmu"
    path = write(tmp_path, f"""
        federation: single
        time: {{start: 0.0, stop: 120.0, step: 0.1}}
        federates:
          grid: {{fmu: {fmu}, site: utility, parameters: {{H: 4.0}}}}
        connections: []
        """)
    run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    header, rows = read_csv(tmp_path / "out" / "results.csv")
    ref = fmpy.simulate_fmu(str(fmu), stop_time=120.0, output_interval=0.1, start_values={"H": 4.0})
    assert len(ref) == len(rows) == 1201
    for i, name in enumerate(header[1:], start=1):
        var = name.split(".", 1)[1]
        for r, row in zip(ref, rows):
            assert abs(r["time"] - row[0]) < 1e-9
            assert row[i] == pytest.approx(r[var], rel=1e-12, abs=1e-12), (name, row[0])


def test_replay_federate_feeds_a_twin(fmu_dist: Path, tmp_path: Path) -> None:
    (tmp_path / "measured.csv").write_text("time,f [Hz]\n0,50.0\n60,49.6\n120,50.0\n")
    path = write(tmp_path, f"""
        federation: replay
        time: {{start: 0.0, stop: 180.0, step: 10.0}}
        federates:
          meter: {{replay: measured.csv, site: utility}}
          furnace: {{fmu: {fmu_dist / 'fmi3' / 'furnace.fmu'}, site: furnace_maker}}
        connections: [meter.f -> furnace.f_grid]
        output: {{variables: [meter.f, furnace.P_el]}}
        """)
    run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    _, rows = read_csv(tmp_path / "out" / "results.csv")
    by_t = {r[0]: r for r in rows}
    assert by_t[50.0][1] == 50.0 and by_t[60.0][1] == 49.6 and by_t[120.0][1] == 50.0
    # the furnace sees the dip one communication step later and curtails
    assert by_t[80.0][2] < 0.5 * by_t[50.0][2]


def test_fmu_error_stops_the_run_with_its_log_and_keeps_results(fmu_dist: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("time,f\n0,50.0\n30,nan\n")
    path = write(tmp_path, f"""
        federation: failing
        time: {{start: 0.0, stop: 100.0, step: 10.0}}
        federates:
          meter: {{replay: bad.csv, site: utility}}
          furnace: {{fmu: {fmu_dist / 'fmi2' / 'furnace.fmu'}, site: furnace_maker}}
        connections: [meter.f -> furnace.f_grid]
        """)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.png").write_bytes(b"a previous run's plot")
    with pytest.raises(FederationFailed) as err:
        run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    assert isinstance(err.value.__cause__, FMUError) and str(err.value) == str(err.value.__cause__)
    assert (err.value.federate, err.value.host, err.value.time) == ("furnace", "furnace_maker", 30 * 10**9)
    assert "furnace" in str(err.value) and "f_grid" in str(err.value)
    assert not (tmp_path / "out" / "results.png").exists(), "a stale plot was left beside the new results"
    _, rows = read_csv(tmp_path / "out" / "results.csv")
    assert [r[0] for r in rows] == [0.0, 10.0, 20.0, 30.0]
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["status"] == "failed" and "f_grid" in info["error"]


def test_python_federate_interactions_reach_an_fmu_in_timestamp_order(fmu_dist: Path, tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("toggler.py"), tmp_path / "toggler.py")
    path = write(tmp_path, f"""
        federation: dr
        time: {{start: 0.0, stop: 600.0, step: 60.0}}
        federates:
          ops: {{python: "toggler:Toggler", site: operator, step: 60.0, parameters: {{at: 300.0}}}}
          furnace: {{fmu: {fmu_dist / 'fmi3' / 'furnace.fmu'}, site: furnace_maker, step: 10.0}}
        connections: []
        interactions:
          DemandResponse: {{parameters: [curtail], publishers: [ops], to: {{furnace.curtail: curtail}}}}
        output: {{variables: [furnace.P_el, ops.sent]}}
        """)
    run_embedded(load_scenario(path), tmp_path / "out", plot=False)
    _, rows = read_csv(tmp_path / "out" / "results.csv")
    by_t = {r[0]: r for r in rows}
    # sent after the step ending at 300 s, stamped 300 s: the furnace applies it from 300 s on
    assert by_t[300.0][1] > 0.5 * 10e6 + 1 and by_t[360.0][1] <= 0.1 * 10e6 + 1e-6
