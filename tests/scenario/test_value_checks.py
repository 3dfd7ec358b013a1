"""Validation of what values can travel and fit: integer widths, declared ranges, String variables,
times beyond logical time, interaction publishers, and hostile YAML (alias bombs, complex keys)."""

from __future__ import annotations

import time
from pathlib import Path

import fmpy
import pytest
import yaml

from adapters.fmu.interface import fmu_interface
from federation.scenario import ScenarioSpec, load_scenario

from .conftest import ScenarioWriter, base_scenario, make_fmu, one_site
from .test_scenario import assert_problem, load_error, problems_for

FMI3_COUNTER = """
    <Int64 name="wide" valueReference="1" causality="output" variability="discrete" initial="exact" start="0"/>
    <Int8 name="small" valueReference="2" causality="input" variability="discrete" start="0"/>
    <Int64 name="wide_in" valueReference="3" causality="input" variability="discrete" start="0"/>
    <UInt8 name="level" valueReference="4" causality="parameter" variability="fixed" start="1" max="100"/>
    <String name="label" valueReference="5" causality="output" variability="discrete" initial="exact">
      <Start value="x"/></String>
    <Float64 name="gain" valueReference="6" causality="parameter" variability="fixed" start="1" min="0" max="2"/>"""
FMI3_BINARY = f"binaries/{fmpy.platform_tuple}/toy{fmpy.sharedLibraryExtension}"


@pytest.fixture
def counter(scenario_dir: Path) -> Path:
    return make_fmu(scenario_dir / "counter.fmu", FMI3_COUNTER, fmi_version="3.0", binary=FMI3_BINARY)


def _with_counter(**spec: object) -> dict[str, object]:
    data = base_scenario()
    data["federates"]["counter"] = {"fmu": "counter.fmu", "site": "lab", **spec}
    return data


def test_integer_parameters_must_fit_their_type_and_declared_range(write_scenario: ScenarioWriter,
                                                                    counter: Path) -> None:
    data = _with_counter(parameters={"level": 256, "gain": 2.5})
    data["federates"]["vehicle"]["parameters"] = {"n_ev": 2**32 + 200}  # FMI 3 Int32 would wrap to 200
    error = problems_for(write_scenario, data, "federates.vehicle.parameters.n_ev", str(2**32 + 200), "Int32")
    assert_problem(error, "federates.counter.parameters.level", "256", "UInt8 [0, 255]")
    assert_problem(error, "federates.counter.parameters.gain", "2.5", "declared range [0, 2]")
    data["federates"]["vehicle"]["parameters"] = {"n_ev": 0}  # declared min 1
    data["federates"]["counter"]["parameters"] = {"level": 100, "gain": 0.0}
    error = load_error(write_scenario(data))
    assert [p.key for p in error.problems] == ["federates.vehicle.parameters.n_ev"]
    assert "declared range [1, 2000]" in error.problems[0].message


def test_an_integer_connection_may_not_narrow(write_scenario: ScenarioWriter, counter: Path) -> None:
    data = _with_counter()
    make_fmu(counter.parent / "other.fmu", FMI3_COUNTER.replace('name="', 'name="o_'), fmi_version="3.0",
             binary=FMI3_BINARY)
    data["federates"]["other"] = {"fmu": "other.fmu", "site": "lab"}
    data["connections"] += ["counter.wide -> other.o_small", "other.o_wide -> counter.wide_in"]
    error = problems_for(write_scenario, data, "connections[5]", "type mismatch", "Int64", "Int8")
    assert [p.key for p in error.problems] == ["connections[5]"]  # Int64 -> Int64 is fine


def test_string_variables_are_not_exposed_by_default_and_refused_when_named(write_scenario: ScenarioWriter,
                                                                            counter: Path) -> None:
    scenario = load_scenario(write_scenario(one_site(_with_counter())))
    assert scenario.exposed("counter") == ["wide"]  # not the String output
    assert ("counter", "label") not in scenario.recorded()
    data = _with_counter(expose=["wide", "label"])
    data["output"] = {"variables": ["counter.label"]}
    error = problems_for(write_scenario, data, "federates.counter.expose[1]", "counter.label is a String")
    assert_problem(error, "output.variables[0]", "counter.label is a String", "Real, Integer, Boolean")


def test_times_beyond_logical_time_are_named(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["time"] = {"start": 0.0, "stop": 9e9, "step": 1e9}
    error = problems_for(write_scenario, data, "time.stop", "9e+09 s is beyond the end of logical time")
    assert [p.key for p in error.problems] == ["time.stop"]
    data["time"] = {"start": 0.0, "stop": 10.0, "step": 1e300}  # used to raise OverflowError
    problems_for(write_scenario, data, "time.step", "beyond the end of logical time")
    data["time"] = {"start": 0.0, "stop": 10.0, "step": 1.0}
    error = load_error(write_scenario(data), {"time.stop": 1e300})
    assert_problem(error, "time.stop", "beyond the end of logical time", "with the override time.stop=1e+300")


def test_problems_caused_by_an_override_say_so(write_scenario: ScenarioWriter) -> None:
    error = load_error(write_scenario(), {"time.stop": 86400.5, "vehicle.n_ev": 5000})
    assert_problem(error, "time.step", "does not divide", "with the override time.stop=86400.5")
    assert_problem(error, "federates.vehicle.parameters.n_ev", "declared range", "with the override vehicle.n_ev=5000")


def test_only_python_federates_publish_interactions(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["interactions"]["DemandResponse"]["publishers"] = ["ems", "grid"]
    problems_for(write_scenario, data, "interactions.DemandResponse.publishers[1]", "'grid' is a fmu federate")


def test_model_description_without_fmi_version_or_with_a_variable_twice(scenario_dir: Path) -> None:
    variable = '<ScalarVariable name="x" valueReference="1" causality="output"><Real/></ScalarVariable>'
    from federation.kinds.interface import InterfaceError
    with pytest.raises(InterfaceError, match="declares no fmiVersion"):
        fmu_interface(make_fmu(scenario_dir / "nover.fmu", variable, fmi_version="", binary=None))
    with pytest.raises(InterfaceError, match="declares the variable 'x' twice"):
        fmu_interface(make_fmu(scenario_dir / "twice.fmu", variable + variable.replace('"1"', '"2"')))


def test_a_yaml_alias_bomb_is_reported_briefly_and_quickly(write_scenario: ScenarioWriter) -> None:
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = write_scenario(text="\n".join(levels) + "\nfederation: [*i]\n")
    started = time.monotonic()
    error = load_error(path)
    assert time.monotonic() - started < 10  # 9**9 strings if anything walked it whole
    assert len(str(error)) < 5000
    assert_problem(error, "(yaml)", "line 5", "the alias *d makes the document more than 50,000 values")


MERGED = """\
federation: merged
time: {start: 0, stop: 10, step: 1}
federates:
  grid: &grid {fmu: ../fmus/grid.fmu, site: utility, step: 0.5, parameters: {H: 5.0}}
  grid2:
    <<: *grid
    step: 1.0
  grid3:
    <<: [{site: lab, expose: [f]}, *grid]
"""


def test_yaml_merge_keys_are_read_as_yaml_safe_load_reads_them(write_scenario: ScenarioWriter) -> None:
    scenario = load_scenario(write_scenario(text=MERGED))
    as_pyyaml_reads = ScenarioSpec.model_validate(yaml.safe_load(MERGED))
    for name in ("grid", "grid2"):
        assert scenario.federates[name] == as_pyyaml_reads.federates[name]
    grid2, grid3 = scenario.federates["grid2"], scenario.federates["grid3"]
    assert (grid2.site, grid2.step, grid2.parameters) == ("utility", 1.0, {"H": 5.0})  # an explicit key wins
    # An earlier mapping in the list wins, as the YAML merge spec says (PyYAML 6.0.4 decides by the
    # identity of the key's str object, so its answer here depends on string interning).
    assert (grid3.site, grid3.step, grid3.expose) == ("lab", 0.5, ["f"])


@pytest.mark.parametrize(("text", "fragments"), [
    (MERGED.replace("    step: 1.0\n", "    step: 1.0\n    step: 2.0\n"), ("line 8", "duplicate key 'step'")),
    (MERGED.replace("    step: 1.0\n", "    <<: *grid\n"), ("line 7", "duplicate merge key '<<'", "<<: [*a, *b]")),
    (MERGED.replace("site: utility,", "site: utility, site: lab,"), ("line 4", "duplicate key 'site'")),
    (MERGED.replace("<<: *grid", "<<: 3"), ("line 6", "a merge key '<<' takes a mapping or a list of mappings")),
])
def test_duplicate_keys_are_still_refused_beside_merge_keys(write_scenario: ScenarioWriter, text: str,
                                                           fragments: tuple[str, ...]) -> None:
    assert_problem(load_error(write_scenario(text=text)), "(yaml)", *fragments)


def test_a_yaml_merge_bomb_is_read_quickly(write_scenario: ScenarioWriter) -> None:
    """Each level merges the one below nine times: PyYAML's own flattening copies 9**9 pairs."""
    levels = ["a: &a {k0: 1, k1: 2}"]
    for i in range(1, 10):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{name}: &{name} {{<<: [" + ", ".join([f"*{prev}"] * 9) + f"], k{i + 1}: 1}}")
    started = time.monotonic()
    error = load_error(write_scenario(text="\n".join(levels) + "\nfederation: *j\n"))
    assert time.monotonic() - started < 10
    assert_problem(error, "(yaml)", "the alias *e makes the document more than 50,000 values")


def test_a_complex_yaml_key_is_a_named_syntax_error(write_scenario: ScenarioWriter) -> None:
    path = write_scenario(text="federation: x\n? [a, b]\n: 1\n")
    assert_problem(load_error(path), "(yaml)", "line 2", "a mapping key must be a plain value, got a list")


def test_names_yaml_reads_as_numbers_are_named_and_never_merged(write_scenario: ScenarioWriter) -> None:
    head = "federation: x\ntime: {start: 0, stop: 10, step: 1}\nfederates:\n"
    error = load_error(write_scenario(text=head + "  1: {python: toy_ems:Dispatcher, site: o}\n"))
    assert_problem(error, "federates.1", "the name 1 must be a string: quote it")
    # 1 and true are one key to Python: one federate would silently replace the other
    error = load_error(write_scenario(text=head + "  1: {python: a:B, site: o}\n  true: {python: a:B, site: o}\n"))
    assert_problem(error, "(yaml)", "duplicate key True", "the same key as 1")


def test_a_list_left_with_every_item_commented_out_is_empty(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    path = write_scenario(data)
    text = path.read_text()
    start, end = text.index("connections:"), text.index("interactions:")
    path.write_text(text[:start] + "connections:\n" + "".join(f"# {line}\n" for line in text[start:end].splitlines()[1:])
                    + text[end:])
    assert load_scenario(path).connections == []


def test_array_variables_travel_as_their_elements_and_take_lists(write_scenario: ScenarioWriter,
                                                                 scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "arr.fmu", """
    <Float64 name="v" valueReference="1" causality="output" variability="continuous"><Dimension start="3"/></Float64>
    <Float64 name="s" valueReference="2" causality="output" variability="continuous"/>
    <Float64 name="g" valueReference="3" causality="parameter" variability="fixed" start="1 2">
      <Dimension start="2"/></Float64>""", fmi_version="3.0", binary=FMI3_BINARY)
    data = base_scenario()
    data["federates"]["arr"] = {"fmu": "arr.fmu", "site": "lab"}
    assert load_scenario(write_scenario(one_site(data))).exposed("arr") == ["v[1]", "v[2]", "v[3]", "s"]
    data = base_scenario()
    data["federates"]["arr"] = {"fmu": "arr.fmu", "site": "lab"}
    data["federates"]["arr"].update(expose=["v[2]", "s"], parameters={"g": [5.0, 6.0]})
    assert load_scenario(write_scenario(data)).exposed("arr") == ["v[2]", "s"]  # an element alone may be shared
    data["federates"]["arr"].update(expose=["v", "s"], parameters={"g": 5.0})
    error = problems_for(write_scenario, data, "federates.arr.parameters.g", "arr.g is an array of shape [2]",
                         "got a scalar")
    assert not [p for p in error.problems if p.key.startswith("federates.arr.expose")]


@pytest.mark.parametrize("item, refused", [(1, False), (9_000_000_000, True)])
def test_an_fmi3_enumeration_narrows_only_if_its_items_do_not_fit(write_scenario: ScenarioWriter, scenario_dir: Path,
                                                                  item: int, refused: bool) -> None:
    make_fmu(scenario_dir / "enum.fmu", """
    <Enumeration name="mode" valueReference="1" causality="output" variability="discrete" declaredType="M"/>""",
             fmi_version="3.0", binary=FMI3_BINARY,
             unit_definitions=f'<TypeDefinitions><EnumerationType name="M"><Item name="a" value="0"/>'
                              f'<Item name="b" value="{item}"/></EnumerationType></TypeDefinitions>')
    make_fmu(scenario_dir / "sink.fmu", """
    <Int32 name="i" valueReference="1" causality="input" variability="discrete" start="0"/>""",
             fmi_version="3.0", binary=FMI3_BINARY)
    data = base_scenario()
    data["federates"].update(e={"fmu": "enum.fmu", "site": "lab"}, k={"fmu": "sink.fmu", "site": "lab"})
    data["connections"].append("e.mode -> k.i")
    if refused:  # an FMI 3 Enumeration is 64-bit
        problems_for(write_scenario, data, "connections[5]", "type mismatch", "Enumeration", "Int32")
    else:
        load_scenario(write_scenario(data))


def test_declared_bounds_are_exact_and_nan_or_a_float32_overflow_is_refused(write_scenario: ScenarioWriter,
                                                                          scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "bounds.fmu", """
    <Int64 name="id" valueReference="1" causality="parameter" variability="fixed" start="0" max="9007199254740993"/>
    <Float32 name="f" valueReference="2" causality="parameter" variability="fixed" start="0"/>
    <Float64 name="g" valueReference="3" causality="parameter" variability="fixed" start="0" max="1000000"/>""",
             fmi_version="3.0", binary=FMI3_BINARY)
    data = base_scenario()
    data["federates"]["b"] = {"fmu": "bounds.fmu", "site": "lab",
                              "parameters": {"id": 9007199254740993, "f": 1e39, "g": float("nan")}}
    error = load_error(write_scenario(data))
    assert [p.key for p in error.problems] == ["federates.b.parameters.f", "federates.b.parameters.g"], str(error)
    assert_problem(error, "federates.b.parameters.f", "range of Float32")
    assert_problem(error, "federates.b.parameters.g", "nan", "not a number")
    data["federates"]["b"]["parameters"] = {"id": 9007199254740994, "g": 1000001.0}
    error = load_error(write_scenario(data))
    assert_problem(error, "federates.b.parameters.id", "declared range [-inf, 9007199254740993]")
    assert_problem(error, "federates.b.parameters.g", "declared range [-inf, 1000000]")
    # infinity is no parameter value, whether written .inf or reached by `--set b.f=1e400`
    data["federates"]["b"]["parameters"] = {"g": float("-inf")}
    error = load_error(write_scenario(data), {"b.f": float("inf")})
    assert_problem(error, "federates.b.parameters.g", "outside every range (it is infinite)")
    assert_problem(error, "federates.b.parameters.f", "outside every range (it is infinite)", "override b.f=inf")


def test_a_list_key_left_with_every_item_commented_out_lists_nothing(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["vehicle"]["expose"] = None  # `expose:` with its items commented out: not "everything"
    data["connections"].remove({"from": "vehicle.P_ev", "to": "grid.P_ev"})
    scenario = load_scenario(write_scenario(data))
    assert scenario.exposed("vehicle") == [] and "P_el" in scenario.exposed("furnace")  # absent: every output


def test_a_number_for_a_string_parameter_says_to_quote_it(write_scenario: ScenarioWriter, scenario_dir: Path) -> None:
    make_fmu(scenario_dir / "tagged.fmu", """
    <ScalarVariable name="tag" valueReference="1" causality="parameter" variability="fixed"><String start="a"/>
    </ScalarVariable>""")
    data = base_scenario()
    data["federates"]["tagged"] = {"fmu": "tagged.fmu", "site": "lab", "parameters": {"tag": 123}}
    problems_for(write_scenario, data, "federates.tagged.parameters.tag", "value 123", "String", "quote it")
    data["federates"]["tagged"]["parameters"] = {"tag": "123"}
    load_scenario(write_scenario(data))
