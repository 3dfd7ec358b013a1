"""Suite files: what a valid one gives (defaults merged into cases), and errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.comparison import Tolerance
from federation.regression import SuiteError, load_suite

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text.replace("FLAGSHIP", str(FLAGSHIP)))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert caught.value.exit_code == 2
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)  # every problem names the file
    return [line.removeprefix(f"{path}: ") for line in lines]


def test_defaults_merge_into_every_case(tmp_path: Path) -> None:
    (tmp_path / "tol.yaml").write_text("default: {atol: 0.5}\n")
    suite = load_suite(write(tmp_path, """
name: nightly
defaults:
  modes: grpc
  overrides: {time.stop: 600, furnace.T_set: 1200}
  tolerances: {default: {rtol: 0.01, ttol: 5}, variables: {grid.f: {atol: 0.002}}}
  expect: [{within: {variable: grid.f, min: 49, max: 51}}]
  timeout: 60
cases:
  a:
    scenario: FLAGSHIP
    reference: refs/a.csv
    overrides: {furnace.T_set: 1250}
    tolerances: {default: {ttol: 10}}
    expect: [{final: {variable: furnace.T_chamber, value: 1250, atol: 5}}]
  b:
    scenario: FLAGSHIP
    modes: [embedded, grpc]
    tolerances: tol.yaml
    timeout: 5
"""))
    assert suite.name == "nightly"
    a, b = suite.cases
    assert a.overrides == {"time.stop": 600, "furnace.T_set": 1250}
    assert a.modes == ("grpc",) and b.modes == ("embedded", "grpc")
    assert a.reference == tmp_path / "refs" / "a.csv" and b.reference is None
    assert a.tolerances.default == Tolerance(rtol=0.01, ttol=10)
    assert a.tolerances.of("grid.f") == Tolerance(atol=0.002, rtol=0.01, ttol=10)  # the default's other fields
    assert b.tolerances.default == Tolerance(atol=0.5)
    assert [e.check.variable for e in a.expect] == ["grid.f", "furnace.T_chamber"]  # the defaults' first
    assert (a.timeout, b.timeout) == (60, 5)


@pytest.mark.parametrize("text, expected", [
    ("cases: {}", "cases: "),
    ("cases: {a: {scenario: FLAGSHIP, modes: [fast]}}", "cases.a.modes[0]: "),
    ("cases: {a: {scenario: FLAGSHIP, modes: [grpc, grpc]}}", "cases.a.modes: a mode is named twice"),
    ("cases: {a: {scenario: nowhere.yaml, expect: [{final: {variable: x, value: 1}}]}}", "cases.a.scenario: no scenario file 'nowhere.yaml'"),
    ("cases: {a: {scenario: FLAGSHIP}}", "cases.a: nothing to check"),
    ("cases: {a: {scenario: FLAGSHIP, referense: r.csv}}", "cases.a.referense: unknown key"),
    ("cases: {a: {scenario: FLAGSHIP, reference: r.csv, timeout: 0}}", "cases.a.timeout: "),
    ("cases: {a: {scenario: FLAGSHIP, reference: r.csv, overrides: {T_set: 3}}}", "cases.a.overrides: an override key is"),
    ("cases: {a: {scenario: FLAGSHIP, reference: r.csv, tolerances: {default: {rtol: -1}}}}", "cases.a.tolerances.default.rtol: "),
    ("cases: {a: {scenario: FLAGSHIP, expect: [{within: {variable: grid.f}}]}}", "cases.a.expect[0].within: give min, max or both"),
    ("cases: {a: {scenario: FLAGSHIP, expect: [{within: {variable: grid.f, min: 2, max: 1}}]}}", "cases.a.expect[0].within: min 2 is above max 1"),
    ("cases: {a: {scenario: FLAGSHIP, expect: [{final: {variable: grid.f}}]}}", "cases.a.expect[0].final.value: required key is missing"),
    ("cases: {a: {scenario: FLAGSHIP, expect: [{event: {variable: grid.f, crosses: 50, direction: sideways, before: 9}}]}}", "cases.a.expect[0].event.direction: "),
    ("cases: {a: {scenario: FLAGSHIP, expect: [{final: {variable: g, value: 1}, event: {variable: g, crosses: 1, before: 2}}]}}", "cases.a.expect[0]: an expectation is one of within, final or event, got final, event"),
    ("defaults: {timeout: -3}\ncases: {a: {scenario: FLAGSHIP, reference: r.csv}}", "defaults.timeout: "),
    ("cases: [a, b]", "cases: "),
    ("cases: {a: {scenario: FLAGSHIP\n", "(yaml): YAML syntax error"),
])
def test_a_bad_suite_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(write(tmp_path, text))
    assert any(line.startswith(expected) for line in found), found


def test_every_problem_at_once(tmp_path: Path) -> None:
    found = problems(write(tmp_path, """
cases:
  a: {scenario: FLAGSHIP, modes: [warp]}
  b: {scenario: FLAGSHIP, expect: [{final: {variable: x, value: 1, bogus: 2}}]}
"""))
    assert [line.split(":")[0] for line in found] == ["cases.a.modes[0]", "cases.b.expect[0].final.bogus"]


def test_a_file_that_is_no_suite(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "federation: x\ntime: {stop: 1}\n"))[0].startswith("(root): not a suite file")
