"""federation.kinds.arrays and the scenario's array rules: element names, shapes, lists, element connections."""

from __future__ import annotations

import numpy
import pytest

from federation.kinds.arrays import (element_names, flat_values, resolve_shape, split_element, value_shape,
                                     with_elements)
from federation.kinds.interface import FederateInterface, VariableInfo
from federation.scenario.exposure import element_connections, elements
from federation.scenario.schema import Connection, FederateSpec, ScenarioSpec


def info(name: str, causality: str, dimensions: tuple[int | str, ...] = (), start: object = None,
         array_start: tuple[object, ...] = ()) -> VariableInfo:
    return VariableInfo(name, causality, "Real", None, "continuous", start, fmi_type="Float64",  # type: ignore[arg-type]
                        array=bool(dimensions), array_start=array_start, dimensions=dimensions)  # type: ignore[arg-type]


MODEL = FederateInterface("fmu", {
    "n": VariableInfo("n", "structuralParameter", "Integer", None, "fixed", 2, fmi_type="UInt64"),
    "Y": info("Y", "output", (2, 3)),
    "z": info("z", "output", ("n",)),
    "u": info("u", "input", (3,), array_start=(1.0, 2.0, 3.0)),
    "k": info("k", "parameter", (2,)),
    "s": info("s", "output"),
})


def test_elements_are_named_one_based_row_major_as_fmi3_structured_names() -> None:
    assert element_names("Y", (2, 3)) == ["Y[1,1]", "Y[1,2]", "Y[1,3]", "Y[2,1]", "Y[2,2]", "Y[2,3]"]
    assert element_names("v", (0,)) == []
    assert split_element("Y[2,3]") == ("Y", (2, 3))
    assert split_element("a.b[10]") == ("a.b", (10,))
    assert split_element("Y") is None and split_element("Y[]") is None and split_element("Y[1, 2]") is None


def test_a_structural_parameter_sizes_a_dimension_by_the_scenarios_value_else_its_start() -> None:
    assert resolve_shape(MODEL.variables["z"], MODEL, {}) == (2,)
    assert resolve_shape(MODEL.variables["z"], MODEL, {"n": 5}) == (5,)
    assert resolve_shape(MODEL.variables["z"], MODEL, {"n": -1}) is None
    assert resolve_shape(MODEL.variables["z"], MODEL, {"n": "x"}) is None


def test_with_elements_adds_each_port_arrays_elements_after_it() -> None:
    view = with_elements(MODEL, {"n": 3})
    assert list(view.variables) == ["n", "Y", "Y[1,1]", "Y[1,2]", "Y[1,3]", "Y[2,1]", "Y[2,2]", "Y[2,3]",
                                    "z", "z[1]", "z[2]", "z[3]", "u", "u[1]", "u[2]", "u[3]", "k", "s"]
    assert view.variables["u[2]"].start == 2.0 and view.variables["u[2]"].element_of == "u"
    assert not view.variables["u[2]"].array and view.variables["z"].dimensions == (3,)
    assert view.outputs()[:2] == ["Y", "Y[1,1]"]
    assert elements(view, "z") == ["z[1]", "z[2]", "z[3]"] and elements(view, "s") == ["s"]
    assert with_elements(FederateInterface("fmu", {"s": MODEL.variables["s"]}), {}).variables.keys() == {"s"}


def test_nested_lists_have_a_shape_and_flatten_row_major() -> None:
    assert value_shape([[1, 2, 3], [4, 5, 6]]) == (2, 3)
    assert value_shape([[1, 2], [3]]) is None and value_shape(1.0) == () and value_shape([]) == (0,)
    assert flat_values([[1, 2, 3], [4, 5, 6]]) == [1, 2, 3, 4, 5, 6] and flat_values(7) == [7]


def test_parameters_take_lists_and_numpy_arrays() -> None:
    spec = FederateSpec.model_validate({"fmu": "a.fmu", "site": "x", "parameters": {
        "M": [[1, 2.5], [True, "t"]], "k": numpy.array([1.0, 2.0]), "g": numpy.float64(3.0)}})
    assert spec.parameters == {"M": [[1, 2.5], [True, "t"]], "k": [1.0, 2.0], "g": 3.0}
    with pytest.raises(ValueError, match="a number, boolean, string or a list of them"):
        FederateSpec.model_validate({"fmu": "a.fmu", "site": "x", "parameters": {"M": [{"a": 1}]}})


def test_array_connections_run_element_by_element_by_whichever_sides_shape_is_known() -> None:
    view = with_elements(MODEL, {})
    spec = ScenarioSpec.model_validate({"federation": "f", "time": {"stop": 1, "step": 1},
                                        "federates": {"a": {"fmu": "a.fmu", "site": "x"},
                                                      "b": {"fmu": "b.fmu", "site": "y"}}})
    connections = [Connection.parse("a.z -> b.z"), Connection.parse("a.s -> b.u[2]"),
                   Connection.parse("a.Y[2,1] -> b.s")]
    expected = ["a.z[1] -> b.z[1]", "a.z[2] -> b.z[2]", "a.s -> b.u[2]", "a.Y[2,1] -> b.s"]
    assert [str(c) for c in element_connections(spec, {"a": view, "b": view}, connections)] == expected
    assert [str(c) for c in element_connections(spec, {"a": view}, connections)] == expected  # b's model not here
    assert [str(c) for c in element_connections(spec, {"b": view}, connections)] == expected  # a's model not here
