"""Unit conversion of a connection, as the FMI standard defines units: pure arithmetic, no I/O.

A unit definition gives base-unit exponents, a factor and an offset: value_in_SI = factor * value + offset.
A value in unit `a` reaches an input in unit `b` (same exponents) as (factor_a * v + (offset_a - offset_b)) /
factor_b: identical definitions are not converted at all (the value arrives bit for bit), degC -> K is
exactly v + 273.15, W -> kW is v / 1000 (a division, correctly rounded, rather than v * 0.001).
A variable with relativeQuantity (a temperature difference...) ignores the offsets, as FMI says.

A unit name its own federate does not define (python models and replay CSVs define none) takes the
definition the other side of the connection gives that name, if it gives one: unit names mean the same in
one coupling. Display units are unit names too (federation.kinds.interface.UnitDefinition of their own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from federation.coupling import Conversion, convert
from federation.kinds.interface import BASE_UNITS, UnitDefinition

__all__ = ["CONVERTED", "INCOMPATIBLE", "SAME", "STATED", "UNDEFINED", "UNITLESS", "Conversion", "UnitLink", "base_units",
           "convert", "explicit_link", "link_units"]

# v_to = (scale * v + shift) / divisor: every case in one form, exact when the numbers are 1.0 and 0.0. The
# Conversion and `convert`, applied where a value is received, live beside Wiring (federation.coupling).

# What a connection's units make of its values (UnitLink.status)
SAME, CONVERTED, STATED, UNITLESS, UNDEFINED, INCOMPATIBLE = (
    "same", "converted", "stated", "unitless", "undefined", "incompatible")


@dataclass(frozen=True)
class UnitLink:
    """How a connection's value is converted from its output's unit to its input's, and why.

    `status`: same (no conversion: same unit, or definitions equal), converted (by the units' definitions),
    stated (the scenario's factor/offset), unitless (a side declares no unit: taken as is), undefined (the
    units differ and one has no definition: refused), incompatible (different base units: refused).
    """

    status: str
    conversion: Conversion | None = None

    @property
    def refused(self) -> bool:
        return self.status in (UNDEFINED, INCOMPATIBLE)


def explicit_link(factor: float, offset: float) -> UnitLink:
    """A conversion the scenario states (SSP's LinearTransformation): v_to = factor * v + offset."""
    return UnitLink(STATED, (float(factor), float(offset), 1.0))


def link_units(src_unit: str | None, src_defs: Mapping[str, UnitDefinition], dst_unit: str | None,
               dst_defs: Mapping[str, UnitDefinition], relative: bool = False) -> UnitLink:
    """How a value in `src_unit` (defined by `src_defs`, its federate's) feeds an input in `dst_unit`.

    `relative`: a side is a relativeQuantity, whose offsets are ignored.
    """
    if src_unit is None or dst_unit is None:
        return UnitLink(UNITLESS)
    src_def = src_defs.get(src_unit) or dst_defs.get(src_unit)
    dst_def = dst_defs.get(dst_unit) or src_defs.get(dst_unit)
    if src_def is None or dst_def is None:
        return UnitLink(SAME if src_unit == dst_unit else UNDEFINED)
    (src_exp, src_factor, src_offset), (dst_exp, dst_factor, dst_offset) = src_def, dst_def
    if src_exp != dst_exp:
        return UnitLink(INCOMPATIBLE)
    shift = 0.0 if relative else src_offset - dst_offset
    if src_factor == dst_factor and shift == 0.0:
        return UnitLink(SAME)
    return UnitLink(CONVERTED, (src_factor, shift, dst_factor))


def base_units(definition: UnitDefinition | None) -> str:
    """A definition's base units in words ('kg.m2.s-3'; '1' for none; '?' for no definition)."""
    if definition is None:
        return "?"
    parts = [name if e == 1 else f"{name}{e}" for name, e in zip(BASE_UNITS, definition[0]) if e]
    return ".".join(parts) or "1"
