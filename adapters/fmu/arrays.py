"""An FMU federate's FMI 3 array inputs and outputs, element by element (federation.kinds.arrays).

Each exposed element is one attribute; each connected element one input. An array is read whole (one
fmi3Get call per array) and its exposed elements picked out; an array input is held whole, its connected
elements updated as they arrive, and set whole once per step (FMI 3 sets an array's every element at once).
Federates without arrays do not build this, and their hot path does not change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.kinds.arrays import split_element
from federation.kinds.interface import FederateInterface

from adapters.fmu.binding import Slave, value_kind

__all__ = ["ArrayPorts", "array_ports"]


@dataclass
class _Array:
    """One array of the FMU: its kind (binding.value_kind), value reference, number of elements, and shape."""

    kind: str
    vr: int
    size: int
    shape: tuple[int, ...]
    picks: list[tuple[int, int]] = field(default_factory=list)  # (position among the outputs, element's offset)
    held: list[Any] = field(default_factory=list)  # an input's every element, as last set
    offsets: dict[str, int] = field(default_factory=dict)  # an input's connected element -> its offset


def _offset(index: Sequence[int], shape: Sequence[int]) -> int:
    """The row-major offset of a 1-based index."""
    offset = 0
    for i, n in zip(index, shape):
        offset = offset * n + (i - 1)
    return offset


class ArrayPorts:
    """The array outputs to read and the array inputs to hold for one FMU federate."""

    def __init__(self, interface: FederateInterface, variables: Mapping[str, Any], outputs: Sequence[str],
                 inputs: Iterable[str]) -> None:
        self.base: dict[str, str] = {}  # element -> its array's name
        self._outputs: dict[str, _Array] = {}
        self._inputs: dict[str, _Array] = {}
        self._element_input: dict[str, _Array] = {}
        self._changed: set[str] = set()
        for position, name in enumerate(outputs):
            if (array := self._array(interface, variables, name, self._outputs)) is not None:
                array.picks.append((position, self._element_offset(name, array)))
        for name in inputs:
            if (array := self._array(interface, variables, name, self._inputs)) is not None:
                array.offsets[name] = self._element_offset(name, array)
                self._element_input[name] = array

    def _array(self, interface: FederateInterface, variables: Mapping[str, Any], name: str,
               table: dict[str, _Array]) -> _Array | None:
        info = interface.variables.get(name)
        base = None if info is None else info.element_of
        if base is None:
            return None
        self.base[name] = base
        if base not in table:
            shape = tuple(int(d) for d in interface.variables[base].dimensions)
            var = variables[base]
            table[base] = _Array(value_kind(var), int(var.valueReference), math.prod(shape), shape)
        return table[base]

    @staticmethod
    def _element_offset(name: str, array: _Array) -> int:
        split = split_element(name)
        assert split is not None, name  # an element's name, by federation.kinds.arrays.with_elements
        return _offset(split[1], array.shape)

    @property
    def reads(self) -> bool:
        """Whether some exposed output is an array's element."""
        return bool(self._outputs)

    def is_input(self, name: str) -> bool:
        """Whether the input is an array's element."""
        return name in self._element_input

    def read(self, slave: Slave, values: list[float], call: Callable[[str, Callable[[], Any]], Any]) -> None:
        """Read every exposed array whole and put its exposed elements at their positions in `values`."""
        for name, array in self._outputs.items():
            got = call(f"reading output {name}", lambda: slave.get(array.kind, [array.vr], array.size))
            for position, offset in array.picks:
                values[position] = float(got[offset])

    def start(self, slave: Slave, call: Callable[[str, Callable[[], Any]], Any]) -> None:
        """Hold every connected array input as the FMU has it after initialization: elements not connected keep
        their values when the array is set whole."""
        for name, array in self._inputs.items():
            array.held = call(f"reading input {name}", lambda: slave.get(array.kind, [array.vr], array.size))

    def hold(self, element: str, value: Any) -> None:
        """An element's new value, set with its array by `flush`."""
        array = self._element_input[element]
        array.held[array.offsets[element]] = value
        self._changed.add(self.base[element])

    def flush(self, slave: Slave, call: Callable[[str, Callable[[], Any]], Any]) -> None:
        """Set every array input one of whose elements changed, whole."""
        for name in sorted(self._changed):
            array = self._inputs[name]
            call(f"setting input {name}", lambda: slave.set(array.kind, [array.vr], array.held))
        self._changed.clear()


def array_ports(interface: FederateInterface, variables: Mapping[str, Any], outputs: Sequence[str],
                inputs: Iterable[str]) -> ArrayPorts | None:
    """The federate's array ports; None when no output or input of it is an array's element."""
    ports = ArrayPorts(interface, variables, outputs, list(inputs))
    return ports if ports.base else None
