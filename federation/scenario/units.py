"""What each connection does with units: the conversion its units (or the scenario) give, refusals and notes.

Pure, no I/O. The rules refuse what cannot be converted (federation.scenario.rules), `validate --verbose`
lists what is converted and what is taken as is (unit_notes), and every runtime converts where the value is
received (federation.runtime.assembly.wiring_of), so that the wire and the recorded columns carry the
sender's value in the sender's unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from federation.clip import short_repr
from federation.kinds import kinds
from federation.kinds.interface import REMOTE, FederateInterface
from federation.kinds.units import (CONVERTED, INCOMPATIBLE, STATED, UNITLESS, Conversion, UnitLink, base_units,
                                    explicit_link, link_units)

from .problems import Problem
from .schema import Connection, ScenarioSpec

__all__ = ["UNKNOWN_HERE", "connection_link", "formula", "unit_notes", "unit_problem", "unseen_problem"]

# A side's unit is not known on this host (another site's model, not here): the value is taken as is.
UNKNOWN_HERE = "unknown here"


def connection_link(connection: Connection, interfaces: Mapping[str, FederateInterface]) -> UnitLink | None:
    """How the connection's value is converted; None when a side's federate or variable is not known."""
    if connection.stated:
        return explicit_link(1.0 if connection.factor is None else connection.factor,
                             0.0 if connection.offset is None else connection.offset)
    src_if, dst_if = interfaces.get(connection.src_federate), interfaces.get(connection.dst_federate)
    if src_if is None or dst_if is None:
        return None
    src, dst = src_if.variables.get(connection.src_variable), dst_if.variables.get(connection.dst_variable)
    if src is None or dst is None:
        return None
    link = link_units(src.unit, src_if.unit_definitions, dst.unit, dst_if.unit_definitions,
                      src.relative_quantity or dst.relative_quantity)
    if link.status == UNITLESS and (src.unit, dst.unit) != (None, None) and REMOTE in (src_if.kind, dst_if.kind):
        return UnitLink(UNKNOWN_HERE)  # the unit of a side that declares one is unknown for want of its model
    return link


def unit_problem(connection: Connection, interfaces: Mapping[str, FederateInterface]) -> str | None:
    """Why the connection's units refuse it (both variables and both units named), or None."""
    link = connection_link(connection, interfaces)
    if link is None or not link.refused:
        return None
    src_if, dst_if = interfaces[connection.src_federate], interfaces[connection.dst_federate]
    src_unit = src_if.variables[connection.src_variable].unit
    dst_unit = dst_if.variables[connection.dst_variable].unit
    head = f"unit mismatch: {connection.src} is in [{src_unit}], {connection.dst} is in [{dst_unit}]"
    stating = (f"state the conversion in the entry, {{from: {connection.src}, to: {connection.dst}, factor: ..., "
               "offset: ...}, if one is meant")
    if link.status == INCOMPATIBLE:
        src_def = src_if.unit_definitions.get(str(src_unit)) or dst_if.unit_definitions.get(str(src_unit))
        dst_def = dst_if.unit_definitions.get(str(dst_unit)) or src_if.unit_definitions.get(str(dst_unit))
        return (f"{head}: their base units differ ({base_units(src_def)} and {base_units(dst_def)}), so no unit "
                f"conversion relates them; {stating}")
    undefined = [u for u in (src_unit, dst_unit) if u not in src_if.unit_definitions and u not in dst_if.unit_definitions]
    return (f"{head}, and neither federate defines [{'] nor ['.join(str(u) for u in undefined)}] (no UnitDefinitions "
            f"entry): the conversion between them is not known; {stating}")


def unseen_problem(connection: Connection, spec: ScenarioSpec, interfaces: Mapping[str, FederateInterface]) -> str | None:
    """Why a connection converted by its units would be converted in one process but not over gRPC or Ray, or
    None. The receiving site's host converts it; it knows another site's units from that site's model data
    (an FMU's modelDescription, a replay CSV), but a python model's only by importing it, which it never does:
    such a connection across sites must state its conversion, so that it runs alike in every mode."""
    link = connection_link(connection, interfaces)
    src_spec, dst_spec = spec.federates[connection.src_federate], spec.federates[connection.dst_federate]
    if link is None or link.status != CONVERTED or link.conversion is None or src_spec.site == dst_spec.site:
        return None
    installed = kinds()
    if not getattr(installed.get(src_spec.kind), "runs_code", False):
        return None
    scale, shift, divisor = link.conversion
    return (f"{connection} converts [{interfaces[connection.src_federate].variables[connection.src_variable].unit}] "
            f"-> [{interfaces[connection.dst_federate].variables[connection.dst_variable].unit}], but "
            f"{connection.src_federate} is a {src_spec.kind} model of site {short_repr(src_spec.site)}, whose units "
            f"site {short_repr(dst_spec.site)}'s host does not know (it does not import another site's code): state "
            f"the conversion in the entry, {{from: {connection.src}, to: {connection.dst}, factor: "
            f"{scale / divisor!r}, offset: {shift / divisor!r}}}, so that every mode converts it alike")


def formula(conversion: Conversion) -> str:
    """A conversion in words, with the numbers exactly as they are applied: '(1000.0 * v + 0.0) / 1.0'."""
    scale, shift, divisor = conversion
    text = "v" if scale == 1.0 else f"{scale!r} * v"
    if shift:
        text += f" {'-' if shift < 0 else '+'} {abs(shift)!r}"
    return text if divisor == 1.0 else f"({text}) / {divisor!r}"


def unit_notes(connections: Iterable[tuple[int, Connection]],
               interfaces: Mapping[str, FederateInterface]) -> list[Problem]:
    """What each connection does with units that the user should know (`validate --verbose`): the conversions
    applied, and the values taken as is because a side declares no unit or its unit is not known here."""
    notes: list[Problem] = []
    for index, connection in connections:
        link = connection_link(connection, interfaces)
        if link is None:
            continue
        key = f"connections[{index}]"
        src = interfaces[connection.src_federate].variables[connection.src_variable]
        dst = interfaces[connection.dst_federate].variables[connection.dst_variable]
        units = f"[{src.unit}] -> [{dst.unit}]"
        if link.status == CONVERTED and link.conversion is not None:
            notes.append(Problem(key, f"{connection}: converted {units} by their unit definitions: "
                                      f"{connection.dst} = {formula(link.conversion)}, v = {connection.src}"))
        elif link.status == STATED and link.conversion is not None:
            instead = f" (not by the units {units})" if src.unit is not None and dst.unit is not None else ""
            notes.append(Problem(key, f"{connection}: converted as the entry states{instead}: "
                                      f"{connection.dst} = {formula(link.conversion)}, v = {connection.src}"))
        elif link.status == UNITLESS:
            without = " and ".join(f"{v} declares no unit" for v, info in ((connection.src, src), (connection.dst, dst))
                                   if info.unit is None)
            notes.append(Problem(key, f"{connection}: {without}: the value is taken as is, not converted"))
        elif link.status == UNKNOWN_HERE:
            unknown = connection.src if src.unit is None else connection.dst
            notes.append(Problem(key, f"{connection}: the unit of {unknown} is not known here (its site's model is not "
                                      "on this machine): the value is taken as is; state factor and offset in the entry to convert it"))
    return notes
