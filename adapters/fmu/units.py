"""An FMU's unit definitions, read from its modelDescription.xml: units and their display units (FMI 2 and 3).

A <Unit> with a <BaseUnit> defines value_in_SI = factor * value + offset over the base-unit exponents.
A <DisplayUnit> of a unit is a unit of its own: value_display = factor_d * value_unit + offset_d (FMI 2 and 3),
so value_in_SI = (factor / factor_d) * value_display + (offset - factor * offset_d / factor_d). It is read so
that a unit name known only as a display unit (a python model's 'degC' into an FMU input in K whose unit
lists degC for display) is defined. Values travel, are converted and are recorded in a variable's `unit`,
never in its `displayUnit`, which is for display only (FMI). FMI 3's `inverse` display units (1/value) are
not linear and are left out, as is a unit without a <BaseUnit> (its relation to SI is not given).
"""

from __future__ import annotations

import logging
import math
from xml.etree import ElementTree

from federation.kinds.interface import BASE_UNITS, UnitDefinition

__all__ = ["relative_quantities", "unit_definitions"]

log = logging.getLogger(__name__)


def _number(element: ElementTree.Element, name: str, default: float) -> float:
    text = element.get(name)
    value = default if text is None else float(text)
    if not math.isfinite(value):
        raise ValueError(f"{name}={text!r}")
    return value


def _root(xml: bytes) -> ElementTree.Element | None:
    try:
        return ElementTree.fromstring(xml)
    except ElementTree.ParseError:  # fmpy read it: at worst no unit is defined, no quantity relative
        return None


def relative_quantities(xml: bytes) -> frozenset[str]:
    """The variables that are relative quantities (their own relativeQuantity, else their declared type's),
    whose unit offsets do not apply (FMI: 10 degC of difference are 10 K). Read here: fmpy reads it only
    from type definitions."""
    root = _root(xml)
    if root is None:
        return frozenset()
    fmi2 = str(root.get("fmiVersion", "")).startswith("2")
    types = {t.get("name"): (t.find("Real") if fmi2 else t) for t in
             root.iterfind("TypeDefinitions/SimpleType" if fmi2 else "TypeDefinitions/*")}
    relative: set[str] = set()
    for variable in root.iterfind("ModelVariables/*"):
        element = variable.find("Real") if fmi2 else variable
        if element is None:
            continue
        flag = element.get("relativeQuantity")
        declared = types.get(element.get("declaredType"))
        if flag is None and declared is not None:
            flag = declared.get("relativeQuantity")
        if flag in ("true", "1"):
            relative.add(str(variable.get("name")))
    return frozenset(relative)


def unit_definitions(xml: bytes) -> dict[str, UnitDefinition]:
    """Every unit and display unit the document defines, by name (a unit's own definition wins over a
    display unit of the same name). A definition with an unreadable number is left out (logged)."""
    units: dict[str, UnitDefinition] = {}
    display: dict[str, UnitDefinition] = {}
    root = _root(xml)
    if root is None:
        return units
    for unit in root.iterfind("UnitDefinitions/Unit"):
        name, base = unit.get("name"), unit.find("BaseUnit")
        if not name or base is None:
            continue
        try:
            exponents = tuple(int(base.get(b, "0")) for b in BASE_UNITS)
            factor, offset = _number(base, "factor", 1.0), _number(base, "offset", 0.0)
        except ValueError as exc:
            log.warning("unit %r: unreadable BaseUnit (%s): the unit is taken as undefined", name, exc)
            continue
        units[name] = (exponents, factor, offset)
        for shown in unit.iterfind("DisplayUnit"):
            shown_name = shown.get("name")
            if not shown_name or shown.get("inverse") in ("true", "1"):
                continue
            try:
                d_factor, d_offset = _number(shown, "factor", 1.0), _number(shown, "offset", 0.0)
            except ValueError as exc:
                log.warning("display unit %r: unreadable (%s): it is taken as undefined", shown_name, exc)
                continue
            if d_factor != 0:
                display.setdefault(shown_name, (exponents, factor / d_factor, offset - factor * d_offset / d_factor))
    return {**display, **units}
