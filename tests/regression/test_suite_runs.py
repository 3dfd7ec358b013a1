"""`federation test`: real runs of the flagship (10 simulated minutes), in worker processes, judged against
references this tool wrote and against expectations; failures, timeouts, JUnit and the CLI's exit codes."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import federation
from federation.regression import load_suite, run_suite

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"



def write_suite(folder: Path, cases: str, defaults: str = "  overrides: {time.stop: 600}\n") -> Path:
    path = folder / "suite.yaml"
    path.write_text(f"name: short\ndefaults:\n{defaults}cases:\n{cases.replace('FLAGSHIP', str(FLAGSHIP))}")
    return path


BASELINE = """  baseline:
    scenario: FLAGSHIP
    reference: refs/baseline.csv
    tolerances: {default: {range_rtol: 0.002, atol: 1e-9, ttol: 10}}
"""


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding refs/baseline.csv, written by --update-references from a 10-minute baseline."""
    folder = tmp_path_factory.mktemp("suite")
    result = run_suite(load_suite(write_suite(folder, BASELINE)), folder / "out", update_references=True)
    assert result.passed, [(r.name, [c.message for c in r.failures]) for r in result.runs]
    (update,) = result.updates
    assert update.created and update.path == folder / "refs" / "baseline.csv"
    return folder


def test_update_references_writes_the_compared_columns_and_then_the_suite_passes(references: Path, tmp_path: Path) -> None:
    with open(references / "refs" / "baseline.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["time", "grid.f", "grid.v_pcc"] and float(rows[-1][0]) == 600.0
    shutil.copytree(references / "refs", tmp_path / "refs")
    result = federation.test(write_suite(tmp_path, BASELINE), out=tmp_path / "out", jobs=1)
    assert result.passed and [r.name for r in result.runs] == ["baseline[embedded]"]
    run = result.runs[0]
    assert run.comparison is not None and run.comparison.passed and not run.comparison.missing
    assert (run.out / "results.csv").is_file() and run.out == tmp_path / "out" / "baseline" / "embedded"


def test_a_broken_parameter_is_caught_naming_the_signal_and_the_time(references: Path, tmp_path: Path) -> None:
    shutil.copytree(references / "refs", tmp_path / "refs")
    broken = BASELINE.replace("  baseline:", "  hotter:") + "    overrides: {furnace.T_set: 1350}\n"
    result = run_suite(load_suite(write_suite(tmp_path, broken)), tmp_path / "out")
    assert not result.passed
    (run,) = result.runs
    assert run.status == "completed"
    failing = {c.name: c for c in run.failures}
    chamber = failing["furnace.T_chamber"]  # the chamber starts at its set point: out from the first sample
    assert chamber.time == 0.0 and "out of the tube from t=0 s" in chamber.message
    charge = failing["furnace.T_charge"]  # the charge drifts away slowly: out of its tube minutes later
    assert charge.time is not None and 60 < charge.time < 600 and f"t={charge.time:g} s" in charge.message
    assert "vehicle.soc_mean" not in failing  # what the furnace does not drive stays in its tube


def test_a_reference_shifted_by_a_unit_error_fails(references: Path, tmp_path: Path) -> None:
    """The reference in kW where the results are in W: every P_el sample is out, from the first."""
    (tmp_path / "refs").mkdir()
    with open(references / "refs" / "baseline.csv") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("furnace.P_el")
    for row in rows[1:]:
        row[column] = repr(float(row[column]) / 1000)
    with open(tmp_path / "refs" / "baseline.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = run_suite(load_suite(write_suite(tmp_path, BASELINE)), tmp_path / "out")
    assert [c.name for c in result.runs[0].failures] == ["furnace.P_el"]
    assert result.runs[0].failures[0].time == 0.0


def test_failed_and_timed_out_runs_are_failing_cases_and_the_rest_still_runs(tmp_path: Path) -> None:
    cases = """  unknown_parameter:
    scenario: FLAGSHIP
    overrides: {furnace.no_such_parameter: 1}
    expect: [{within: {variable: grid.f, min: 49, max: 51}}]
  too_slow:
    scenario: FLAGSHIP
    overrides: {time.stop: 864000}
    timeout: 2
    expect: [{within: {variable: grid.f, min: 49, max: 51}}]
  fine:
    scenario: FLAGSHIP
    expect: [{within: {variable: grid.f, min: 49, max: 51}}]
"""
    junit = tmp_path / "junit.xml"
    result = run_suite(load_suite(write_suite(tmp_path, cases)), tmp_path / "out", jobs=2, junit=junit)
    verdicts = {r.case: (r.status, r.passed) for r in result.runs}
    assert verdicts == {"unknown_parameter": ("failed", False), "too_slow": ("timed out", False),
                        "fine": ("completed", True)}
    failed, slow, _ = result.runs
    assert "no_such_parameter" in failed.failures[0].message
    assert slow.failures[0].message.startswith("run timed out: stopped after 2 s")
    info = (slow.out / "run.json").read_text()
    assert '"status": "interrupted"' in info  # the run was stopped as a CI job's timeout stops it: rows kept
    # JUnit: one testsuite per case's run, one testcase per check, the run's error in its failure
    root = ET.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"unknown_parameter[embedded]", "too_slow[embedded]", "fine[embedded]"}
    failure = suites["unknown_parameter[embedded]"].find("testcase/failure")
    assert failure is not None and "no_such_parameter" in (failure.get("message") or "") + (failure.text or "")
    cases_of_fine = [c.get("name") for c in suites["fine[embedded]"].iter("testcase")]
    assert cases_of_fine == ["run", "expect grid.f within [49, 51]"]


def test_expectations_on_a_real_run(tmp_path: Path) -> None:
    cases = """  expectations:
    scenario: FLAGSHIP
    overrides: {time.stop: 3600}
    expect:
      - within: {variable: grid.f, min: 49.8, max: 50.2}
      - within: {variable: grid.f, min: 49.99, from: 0, to: 600}
      - final: {variable: furnace.T_chamber, value: 1300, atol: 5}
      - final: {variable: furnace.T_chamber, value: 1200, atol: 5}
      - event: {variable: furnace.T_charge, crosses: 900, direction: up, before: 3000}
      - event: {variable: furnace.T_charge, crosses: 900, direction: up, before: 1000}
"""
    result = run_suite(load_suite(write_suite(tmp_path, cases)), tmp_path / "out")
    checks = [(c.name, c.passed) for c in result.runs[0].checks]
    assert [passed for _, passed in checks] == [True, True, False, True, False, True, False]
    failing = result.runs[0].failures
    assert failing[0].time is not None and failing[0].time < 600  # when grid.f first left [49.99, inf)
    assert failing[2].time is not None and failing[2].time > 1000  # when T_charge did cross 900


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation.cli", "test", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_cli_exit_codes_summary_and_reference_changes(references: Path, tmp_path: Path) -> None:
    shutil.copytree(references / "refs", tmp_path / "refs")
    suite = write_suite(tmp_path, BASELINE)
    passing = run_cli(str(suite), "--out", "o1", "--jobs", "1", cwd=tmp_path)
    assert passing.returncode == 0, passing.stderr
    assert "1/1 passed" in passing.stdout and "baseline" in passing.stdout
    assert (tmp_path / "o1" / "baseline" / "embedded" / "run.json").is_file()
    suite.write_text(suite.read_text().replace("    reference:", "    overrides: {furnace.T_set: 1250}\n    reference:"))
    failing = run_cli(str(suite), "--out", "o2", cwd=tmp_path)
    assert failing.returncode == 1 and "FAIL" in failing.stdout and "furnace.T_chamber" in failing.stdout
    updated = run_cli(str(suite), "--out", "o3", "--update-references", cwd=tmp_path)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "baseline: updated" in updated.stdout and "furnace.T_chamber: max change" in updated.stdout
    assert "vehicle.P_ev" not in updated.stdout  # unchanged columns are not listed
    assert run_cli(str(suite), "--out", "o4", cwd=tmp_path).returncode == 0
    bad = run_cli(str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr
