"""`federation test --mode ray`: each run a Ray task (a local Ray), the verdicts as with the local pool."""

from __future__ import annotations

from pathlib import Path

import pytest

import federation

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


@pytest.mark.slow
def test_a_suite_on_ray(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""
defaults:
  overrides: {{time.stop: 600}}
  expect: [{{within: {{variable: grid.f, min: 49, max: 51}}}}]
cases:
  fine: {{scenario: {FLAGSHIP}}}
  out_of_band: {{scenario: {FLAGSHIP}, expect: [{{within: {{variable: grid.f, min: 50.01}}}}]}}
  bad_override: {{scenario: {FLAGSHIP}, overrides: {{grid.no_such: 1}}}}
  too_slow: {{scenario: {FLAGSHIP}, overrides: {{time.stop: 8640000}}, timeout: 4}}
""")
    ray = pytest.importorskip("ray")
    from federation.runtime.ray import shutdown_site_actors

    if ray.is_initialized():  # another test's: this suite starts its own, advertising its scenario's sites
        ray.shutdown()
    try:
        result = federation.test(suite, mode="ray", out=tmp_path / "out", junit=tmp_path / "junit.xml")
    finally:
        shutdown_site_actors()
        ray.shutdown()
    verdicts = {r.case: (r.status, r.passed) for r in result.runs}
    assert verdicts == {"fine": ("completed", True), "out_of_band": ("completed", False),
                        "bad_override": ("failed", False), "too_slow": ("timed out", False)}
    assert "no_such" in result.runs[2].failures[0].message
    assert (tmp_path / "out" / "fine" / "embedded" / "results.csv").is_file()
    assert (tmp_path / "junit.xml").is_file()
