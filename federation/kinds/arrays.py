"""FMI 3 arrays as the federation sees them: each element a scalar of its own, named as FMI 3 names them.

An array variable `y` (a variable with <Dimension>s) travels, connects and is recorded as its elements
`y[1]`, `y[2]`, ... (`y[1,1]`, `y[1,2]`, ... for two dimensions): 1-based, comma-separated, row-major,
FMI 3's structured naming convention and Modelica's. Element `y[i,j]` is fmpy's `result['y'][:, i-1, j-1]`,
so results compare with fmpy's column for column. A dimension is a fixed size or a structural parameter,
whose size is the value the scenario gives it, else its start value.

Every element is one attribute: elements travel packed with the scalars, as every attribute does, in every
mode, and a federate without arrays pays nothing for them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from federation.kinds.interface import FederateInterface, VariableInfo

__all__ = ["element_name", "element_names", "flat_values", "resolve_shape", "shape_text", "split_element",
           "value_shape", "with_elements"]

_ELEMENT = re.compile(r"^(?P<base>.+)\[(?P<index>[0-9]+(?:,[0-9]+)*)\]\Z")
_PORTS = ("input", "output")  # what travels: only their arrays get elements of their own
_NUMBERS = ("Real", "Integer", "Boolean")  # and only of the types that travel as numbers (not String, Binary)


def element_name(base: str, index: Sequence[int]) -> str:
    """`y[2]`, `y[1,3]`: the 1-based index of an element, as FMI 3 structured names write it."""
    return f"{base}[{','.join(str(i) for i in index)}]"


def split_element(name: str) -> tuple[str, tuple[int, ...]] | None:
    """(base, 1-based index) of an element name such as `y[1,3]`; None for any other name."""
    match = _ELEMENT.match(name)
    if match is None:
        return None
    return match.group("base"), tuple(int(i) for i in match.group("index").split(","))


def indices(shape: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every 1-based index of an array of this shape, in row-major order (FMI 3's serialization)."""
    return itertools.product(*(range(1, n + 1) for n in shape))


def element_names(base: str, shape: Sequence[int]) -> list[str]:
    """The names of every element, row-major."""
    return [element_name(base, index) for index in indices(shape)]


def shape_text(shape: Sequence[int | str]) -> str:
    """`[3]`, `[2,3]`, `[n]` (a dimension given by a structural parameter, before it is resolved)."""
    return f"[{','.join(str(d) for d in shape)}]"


def resolve_shape(info: VariableInfo, interface: FederateInterface,
                  parameters: Mapping[str, Any]) -> tuple[int, ...] | None:
    """An array's shape: each dimension fixed, or the size its structural parameter is given (the scenario's
    value, else the parameter's start value); None when a size is unknown or not a whole number >= 0."""
    shape: list[int] = []
    for dimension in info.dimensions:
        if isinstance(dimension, int):
            shape.append(dimension)
            continue
        size = parameters.get(dimension)
        if size is None and (declared := interface.variables.get(dimension)) is not None:
            size = declared.start
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not float(size).is_integer() or size < 0:
            return None
        shape.append(int(size))
    return tuple(shape)


def with_elements(interface: FederateInterface, parameters: Mapping[str, Any]) -> FederateInterface:
    """The interface with each array's shape resolved (its `dimensions` all sizes) and each element of a numeric
    input or output array a variable of its own, right after its array. An interface without arrays is returned as is.

    A declared variable keeps its name: an element name it already holds (an FMU may name scalars `y[1]`)
    is not given to an element.
    """
    if not any(info.array for info in interface.variables.values()):
        return interface
    variables: dict[str, VariableInfo] = {}
    for name, info in interface.variables.items():
        if not info.array:
            variables.setdefault(name, info)
            continue
        shape = resolve_shape(info, interface, parameters)
        variables[name] = dataclasses.replace(info, dimensions=shape) if shape is not None else info
        if shape is None or info.causality not in _PORTS or info.type not in _NUMBERS:
            continue
        starts = info.array_start if len(info.array_start) == math.prod(shape) else ()
        for position, index in enumerate(indices(shape)):
            element = element_name(name, index)
            if element not in interface.variables:
                variables[element] = dataclasses.replace(
                    info, name=element, start=starts[position] if starts else None, array=False, array_start=(),
                    dimensions=(), element_of=name)
    return dataclasses.replace(interface, variables=variables)


def value_shape(value: object) -> tuple[int, ...] | None:
    """The shape of a (nested) list given for an array: () for a scalar, None when ragged."""
    if not isinstance(value, (list, tuple)):
        return ()
    shapes = {value_shape(item) for item in value}
    if len(shapes) > 1 or None in shapes:
        return None
    inner = shapes.pop() if shapes else ()
    return None if inner is None else (len(value), *inner)


def flat_values(value: object) -> list[Any]:
    """A (nested) list's scalars in row-major order; a scalar as a list of one."""
    if not isinstance(value, (list, tuple)):
        return [value]
    return [scalar for item in value for scalar in flat_values(item)]
