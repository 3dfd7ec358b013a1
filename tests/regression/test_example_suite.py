"""The example suite (examples/regression) passes against its committed references, JUnit and report included."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import federation

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "examples" / "regression" / "suite.yaml"


def test_references_are_small() -> None:
    for reference in (SUITE.parent / "references").glob("*.csv"):
        assert reference.stat().st_size < 100_000, reference


@pytest.mark.slow
def test_the_example_suite_passes(tmp_path: Path) -> None:
    result = federation.test(SUITE, out=tmp_path / "runs", junit=tmp_path / "junit.xml", report=tmp_path / "report")
    assert result.passed, [(r.name, [c.message for c in r.failures]) for r in result.failed]
    assert [r.name for r in result.runs] == ["baseline[embedded]", "lower_set_point[embedded]", "distributed[grpc]"]
    suites = ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [r.name for r in result.runs]
    assert all(int(s.get("failures") or 0) == 0 for s in suites)
    assert "grid.f" in [c.get("name") for c in suites[2].iter("testcase")]
    assert (tmp_path / "report" / "index.html").is_file()
