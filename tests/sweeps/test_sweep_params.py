"""Sweep specifications a user gets wrong (or right in an unusual spelling), without Ray."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from federation.sweeps import SweepError, expand, integer_parameters, parse_param, parse_value, run_sweep
from federation.scenario import ScenarioError, load_scenario

SCENARIO = Path(__file__).parents[1] / "runtime" / "ray_fixtures" / "three_owners.yaml"


@pytest.mark.parametrize("text", ["@x", "%x", "*a", "{a:", "[1,2", "@home"])
def test_text_that_is_not_yaml_is_taken_as_typed(text: str) -> None:
    assert parse_value(text) == text
    if "," not in text:  # a comma separates --param values
        assert parse_param(f"src.p_str={text},1") == ("src.p_str", [text, 1])


def test_exponent_notation_is_a_number() -> None:
    assert parse_param("furnace.T_set=1.1e3,1.2E3,-2E-1,1e3") == ("furnace.T_set", [1100.0, 1200.0, -0.2, 1000.0])
    assert [parse_value(v) for v in ("4e0", "1200", "1.5", "true", "'1e3'")] == [4.0, 1200, 1.5, True, "1e3"]
    assert parse_param("furnace.T_set=1.1e3..1.3e3")[1][0].lo == 1100.0
    assert [parse_value(v) for v in ("inf", "-inf", "+Inf")] == [float("inf"), float("-inf"), float("inf")]
    assert math.isnan(parse_value("nan")) and parse_value("'inf'") == "inf"


def test_an_empty_value_is_refused_naming_the_param() -> None:
    for text in ("furnace.T_set=1200,,1300", "furnace.T_set=1200,", "furnace.T_set= ,1200"):
        with pytest.raises(SweepError, match=r"--param furnace\.T_set: an empty value"):
            parse_param(text)


def test_a_value_given_twice_is_refused_naming_it() -> None:
    with pytest.raises(SweepError, match=r"--param furnace\.T_set: 1200 and 1200 are the same value"):
        parse_param("furnace.T_set=1200,1300,1200")
    with pytest.raises(SweepError, match=r"1200 and 1\.2e3 are the same value"):
        parse_param("furnace.T_set=1200,1.2e3")
    assert parse_param("x.y=1,true")[1] == [1, True]  # a number and a boolean differ


def test_runs_that_would_share_a_folder_are_refused_before_any_run(fmu_dist: Path, tmp_path: Path) -> None:
    specs = expand([parse_param("grid.label=a b,a_b")])  # both named grid.label=a_b
    with pytest.raises(SweepError, match=r"share the folder 'grid\.label=a_b'.*'a b'.*'a_b'"):
        run_sweep(SCENARIO, specs, tmp_path / "s", {"time.stop": 60.0}, mode="embedded")
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("param, words", [("nosuch.x=1,2", ["overrides.nosuch.x", "unknown federate 'nosuch'"]),
                                          ("furnace.nosuch=1,2", ["furnace.parameters.nosuch", "not a parameter"])])
def test_an_unknown_key_is_refused_once_before_any_run(fmu_dist: Path, tmp_path: Path, param: str,
                                                        words: list[str]) -> None:
    with pytest.raises(ScenarioError) as info:
        run_sweep(SCENARIO, expand([parse_param(param)]), tmp_path / "s", {"time.stop": 60.0}, mode="embedded")
    assert all(w in str(info.value) for w in words), str(info.value)
    assert not (tmp_path / "s").exists()


def test_a_range_draws_whole_numbers_for_an_integer_parameter_only(fmu_dist: Path) -> None:
    params = [parse_param("vehicle.n_ev=10..20"), parse_param("furnace.T_set=1100..1300")]
    integers = integer_parameters(load_scenario(SCENARIO), [key for key, _ in params])
    assert integers == {"vehicle.n_ev"}
    specs = expand(params, samples=40, seed=3, integers=integers)
    draws = [s.params["vehicle.n_ev"] for s in specs]
    assert all(type(v) is int and 10 <= v <= 20 for v in draws), draws
    reals = [s.params["furnace.T_set"] for s in specs]  # a Real parameter: not only whole numbers
    assert all(type(v) is float and 1100 <= v <= 1300 for v in reals) and not all(v.is_integer() for v in reals)
    with pytest.raises(SweepError, match="holds no integer"):
        expand([parse_param("vehicle.n_ev=10.2..10.8")], samples=1, integers={"vehicle.n_ev"})


def test_an_integer_range_sweep_completes(fmu_dist: Path, tmp_path: Path) -> None:
    specs = expand([parse_param("vehicle.n_ev=10..20")], samples=2, seed=0, integers={"vehicle.n_ev"})
    outcomes = run_sweep(SCENARIO, specs, tmp_path / "s", {"time.stop": 60.0}, mode="embedded")
    assert [o.status for o in outcomes] == ["completed", "completed"], [o.error for o in outcomes]
