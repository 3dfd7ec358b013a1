"""The scenario's rules for FMI 3 arrays (federation.kinds.arrays): shapes known, elements in range, shapes that
match across a connection, and list values of the right shape for array parameters. Pure: no I/O."""

from __future__ import annotations

import math

from federation.clip import short_repr
from federation.kinds.arrays import element_name, resolve_shape, shape_text, split_element, value_shape
from federation.kinds.interface import FederateInterface, VariableInfo

from .schema import Connection

__all__ = ["array_problem", "element_problem", "parameter_shape_problem", "shape_problem"]


def _shape(info: VariableInfo) -> tuple[int, ...] | None:
    """A resolved array's shape (federation.kinds.arrays.with_elements), () for a scalar, None when unknown."""
    if not info.array:
        return ()
    return tuple(info.dimensions) if all(isinstance(d, int) for d in info.dimensions) else None  # type: ignore[arg-type]


def array_problem(federate: str, info: VariableInfo) -> str | None:
    """Why an array cannot travel: a size its structural parameter does not give; None when it can."""
    if not info.array or _shape(info) is not None:
        return None
    unknown = [str(d) for d in info.dimensions if not isinstance(d, int)]
    return (f"{federate}.{info.name} is an array of shape {shape_text(info.dimensions)} whose size "
            f"{' and '.join(unknown)} is not known: give {'them' if len(unknown) > 1 else 'it'} a whole number >= 0 "
            f"(federates.{federate}.parameters) or a start value in the model")


def element_problem(interface: FederateInterface, federate: str, name: str) -> str | None:
    """Why `name`, written as an element (`y[4]`), names no element of the federate's array; None when it is no
    element of any array (an ordinary unknown name)."""
    split = split_element(name)
    base = None if split is None else interface.variables.get(split[0])
    if split is None or base is None or not base.array:
        return None
    shape = _shape(base)
    if shape is None:
        return array_problem(federate, base)
    if base.causality not in ("input", "output"):
        return (f"{federate}.{name}: {split[0]} is a {base.causality} array; its elements are not variables of their "
                f"own (set it whole, as a list of {math.prod(shape)} values)")
    return (f"{federate}.{name} is not an element of {federate}.{split[0]}, an array of shape {shape_text(shape)} "
            f"(indices start at 1: {element_name(split[0], [1] * len(shape))} to {element_name(split[0], shape)})")


def shape_problem(connection: Connection, src: VariableInfo, dst: VariableInfo) -> str | None:
    """Why the two sides of a connection differ in shape, naming both sides and their shapes; None when they match.
    An element is a scalar: `a.y[2] -> b.u` connects one element to a scalar input."""
    src_shape, dst_shape = _shape(src), _shape(dst)
    if src_shape == dst_shape or src_shape is None or dst_shape is None:
        return None
    head = (f"shape mismatch: {connection.src} has shape {shape_text(src_shape) if src_shape else '() (a scalar)'}, "
            f"{connection.dst} has shape {shape_text(dst_shape) if dst_shape else '() (a scalar)'}")
    if not dst_shape:
        return f"{head}; connect one element, e.g. {element_name(connection.src, [1] * len(src_shape))} -> {connection.dst}"
    if not src_shape:
        return f"{head}; connect it to one element, e.g. {connection.src} -> {element_name(connection.dst, [1] * len(dst_shape))}"
    return f"{head}; an array feeds an array of the same shape"


def parameter_shape_problem(federate: str, interface: FederateInterface, info: VariableInfo, value: object,
                            parameters: dict[str, object]) -> str | None:
    """Why a value does not fit a parameter's shape: an array takes a list (nested for each further dimension) of
    its shape, a scalar takes no list; None when it fits."""
    given = value_shape(value)
    where = f"{federate}.{info.name}"
    if not info.array:
        return None if given == () else f"{where} is a scalar; got a list {short_repr(value)}"
    shape = resolve_shape(info, interface, parameters)
    if shape is None:
        return array_problem(federate, info)
    if given == shape:
        return None
    nested = "" if len(shape) == 1 else f" ({len(shape)} nested levels, one per dimension, row-major)"
    got = ("a ragged list" if given is None else "a scalar" if given == () else f"a list of shape {shape_text(given)}")
    return f"{where} is an array of shape {shape_text(shape)}: give a list of that shape{nested}; got {got}"
