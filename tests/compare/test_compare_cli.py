"""`federation compare` as a CI job runs it: real subprocesses, exit codes, the table, the report, JUnit XML."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from federation import Check, write_junit
from tests.compare.test_comparison import T, plant, write_csv

ROOT = Path(__file__).resolve().parents[2]


def federation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    ref = write_csv(tmp_path / "ref.csv", T, {"room.T": plant(T), "heater.on": (T < 1800).astype(float),
                                              "room.RH": np.full(T.size, 0.4)})
    same = write_csv(tmp_path / "same.csv", T, {"room.T": plant(T), "heater.on": (T < 1800).astype(float),
                                                "room.RH": np.full(T.size, 0.4)})
    late = write_csv(tmp_path / "late.csv", T, {"room.T": plant(T, event=1830.0), "heater.on": (T < 1830).astype(float),
                                                "extra.x": T})
    return ref, same, late


def test_a_passing_comparison_exits_0_with_a_table(tmp_path: Path) -> None:
    ref, same, _ = files(tmp_path)
    proc = federation("compare", str(same), str(ref))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"room\.T\s+│\s+pass", proc.stdout) and "PASS: 3 of 3 signal(s) within tolerance" in proc.stdout


def test_a_failing_comparison_exits_1_naming_signal_time_and_deviation(tmp_path: Path) -> None:
    ref, _, late = files(tmp_path)
    proc = federation("compare", str(late), str(ref), "--ttol", "10", "--atol", "0.01")
    assert proc.returncode == 1, proc.stderr
    # the switch 30 s late: out of the tube once the reference's switch is more than ttol behind
    assert re.search(r"heater\.on\s+│\s+FAIL\s+│\s+1810\s+│\s+1\s+│\s+1800", proc.stdout), proc.stdout
    assert "FAIL heater.on: out of the tube from t=1810 s" in proc.stdout
    # room.T still rises after its reference fell: above the tube's top (its value at 1799 s) from 1806 s
    assert re.search(r"room\.T\s+│\s+FAIL\s+│\s+1806\s+│\s+30\s+│\s+1800", proc.stdout), proc.stdout
    assert re.search(r"room\.RH\s+│\s+MISSING", proc.stdout) and "in the results only (not compared): extra.x" in proc.stdout
    # within a wider time tolerance the late event passes; the missing variable still fails
    proc = federation("compare", str(late), str(ref), "--ttol", "40", "--atol", "0.1")
    assert proc.returncode == 1 and "FAIL: 2 of 3 signal(s) within tolerance, 1 missing" in proc.stdout
    proc = federation("compare", str(late), str(ref), "--ttol", "40", "--atol", "0.1", "--map", "extra.x=room.RH",
                      "--tolerances", str(_tol_file(tmp_path)))
    assert proc.returncode == 0, proc.stdout


def _tol_file(tmp_path: Path) -> Path:
    path = tmp_path / "tol.yaml"
    path.write_text("variables:\n  room.RH: {atol: 4000}\n")
    return path


def test_bad_files_and_options_exit_2_naming_them(tmp_path: Path) -> None:
    ref, same, _ = files(tmp_path)
    proc = federation("compare", str(tmp_path / "nope.csv"), str(ref))
    assert proc.returncode == 2 and "nope.csv: cannot be read" in proc.stderr
    proc = federation("compare", str(same), str(ref), "--map", "room.T")
    assert proc.returncode == 2 and "--map room.T: expected RESULT=REFERENCE" in proc.stderr
    proc = federation("compare", str(same), str(ref), "--map", "room.Tx=room.T")
    assert proc.returncode == 2 and "no column 'room.Tx' (did you mean 'room.T'" in proc.stderr
    proc = federation("compare", str(same), str(ref), "--atol", "-1")
    assert proc.returncode == 2 and "atol: -1" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("default: {rtoll: 1}\n")
    proc = federation("compare", str(same), str(ref), "--tolerances", str(bad))
    assert proc.returncode == 2 and "bad.yaml" in proc.stderr and "rtoll" in proc.stderr


def test_the_report_and_the_junit_file(tmp_path: Path) -> None:
    ref, _, late = files(tmp_path)
    proc = federation("compare", str(late), str(ref), "--ttol", "10", "--report", str(tmp_path / "report"),
                      "--junit", str(tmp_path / "junit.xml"))
    assert proc.returncode == 1
    page = (tmp_path / "report" / "index.html").read_text()
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert len(pngs) == 2 and all(p in page for p in pngs)  # room.T and heater.on failed
    assert page.index("<table>") < page.index("<img")  # the summary first, then the plots
    assert "out of the tube from t=1810 s" in page and "MISSING" in page and "room.RH" in page
    assert (tmp_path / "report" / pngs[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"room.T", "heater.on", "room.RH"}
    assert "out of the tube from t=1810 s" in (cases["heater.on"].find("failure").get("message") or "")  # type: ignore[union-attr]
    assert root.get("tests") == "3" and root.get("failures") == "3"


def test_junit_xml_has_what_jenkins_and_gitlab_require(tmp_path: Path) -> None:
    """Jenkins validates against xunit-plugin's junit-10.xsd; GitLab reads testsuite/testcase/failure. Checked
    structurally (the XSD is not vendored here): required attributes, no attribute the schema refuses on the root,
    times as plain decimals, counts that match, text escaped."""
    path = write_junit(tmp_path / "out" / "j.xml", {
        "case <1>": [Check("a & b", True, "fine", duration=1e-7), Check('x "y"', False, "out at t=5 s\nmore", 5.0, 12.5)],
        "empty": []})
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}
    decimal = re.compile(r"^\d*(\.\d*)?$")
    assert decimal.match(root.get("time", ""))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["case <1>", "empty"]
    for suite in suites:
        assert {"name", "tests", "failures", "errors"} <= set(suite.attrib)
        assert decimal.match(suite.get("time", "0")), suite.get("time")
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)
        for case in cases:
            assert case.get("name") and case.get("classname") == suite.get("name")
            assert decimal.match(case.get("time", "0"))
            assert set(child.tag for child in case) <= {"failure", "error", "skipped", "system-out", "system-err"}
    failure = suites[0].findall("testcase")[1].find("failure")
    assert failure is not None and failure.get("message") == "out at t=5 s" and failure.text == "out at t=5 s\nmore"
    assert root.get("tests") == "2" and root.get("failures") == "1" and root.get("errors") == "0"
