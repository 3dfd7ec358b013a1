"""What leaves a federate's host: its exposed outputs, decided by the scenario and, when it says nothing, its model."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from federation.kinds.arrays import element_names
from federation.kinds.interface import REMOTE, FederateInterface, VariableInfo

from .schema import Connection, ScenarioSpec

__all__ = ["EXCHANGED_TYPES", "element_connections", "elements", "exchanged", "exposed", "travels"]

EXCHANGED_TYPES = ("Real", "Integer", "Boolean")  # what travels as a number through the RTI


def travels(info: VariableInfo) -> bool:
    """Whether the variable's values can travel through the RTI: one number each."""
    return info.type in EXCHANGED_TYPES and not info.array


def exchanged(info: VariableInfo) -> bool:
    """Whether the variable can be exposed, connected and recorded: it travels, or it is an array whose elements do."""
    return info.type in EXCHANGED_TYPES


def elements(interface: FederateInterface | None, name: str) -> list[str]:
    """What travels for a variable: an array's elements (federation.kinds.arrays), else the name itself."""
    info = None if interface is None else interface.variables.get(name)
    if info is None or not info.array or not all(isinstance(d, int) for d in info.dimensions):
        return [name]
    return element_names(name, info.dimensions)  # type: ignore[arg-type]  # all sizes, checked above


def element_connections(spec: ScenarioSpec, interfaces: Mapping[str, FederateInterface],
                        connections: list[Connection]) -> list[Connection]:
    """The connections as they run: an array to an array of the same shape becomes one connection per element
    (`a.y -> b.u` is `a.y[1] -> b.u[1]`, ...), by the shape of whichever side's model is known here."""
    out: list[Connection] = []
    for c in connections:
        src = elements(interfaces.get(c.src_federate), c.src_variable)
        dst = elements(interfaces.get(c.dst_federate), c.dst_variable)
        if len(src) == 1 and len(dst) > 1 and src[0] == c.src_variable:  # the source's model is not here
            src = [c.src_variable + name[len(c.dst_variable):] for name in dst]
        elif len(dst) == 1 and len(src) > 1 and dst[0] == c.dst_variable:  # the target's model is not here
            dst = [c.dst_variable + name[len(c.src_variable):] for name in src]
        out += [dataclasses.replace(c, src_variable=s, dst_variable=d) for s, d in zip(src, dst)]  # stated units kept
    return out


def exposed(spec: ScenarioSpec, interfaces: Mapping[str, FederateInterface], federate: str) -> list[str]:
    """Outputs that leave the federate's host, for other federates and the recorder to see.

    Decided by the scenario alone, so that every mode, host and coordinator agrees without any
    model: the `expose` list, in its order; without one, in a scenario of several sites, only
    the outputs that it connects to an input or records (deny-by-default: a site shares
    nothing the scenario does not use); in a scenario of one site, every output that can
    travel, in its model's order. An array goes as its elements, which only its model counts: a host
    that has not the model (another site's, not on this machine) takes an array's elements as named.
    """
    interface = interfaces.get(federate)
    named = spec.declared_outputs(federate)
    if named is None:  # a String output cannot travel as a number: not unless named (an error)
        return [] if interface is None else [name for name in interface.outputs()
                                             if travels(interface.variables[name])]  # an array's elements do
    if interface is None or interface.kind == REMOTE:
        return list(dict.fromkeys(e for name in named for e in elements(interface, name)))
    return list(dict.fromkeys(e for name in named if (info := interface.variables.get(name)) is not None
                              and info.causality == "output" for e in elements(interface, name)))
