"""What leaves a federate's host: its exposed outputs, decided by the scenario and, when it says nothing, its model."""

from __future__ import annotations

from collections.abc import Mapping

from federation.kinds.interface import REMOTE, FederateInterface, VariableInfo

from .schema import ScenarioSpec

__all__ = ["EXCHANGED_TYPES", "exposed", "travels"]

EXCHANGED_TYPES = ("Real", "Integer", "Boolean")  # what travels as a number through the RTI


def travels(info: VariableInfo) -> bool:
    """Whether the variable's values can travel through the RTI: one number each."""
    return info.type in EXCHANGED_TYPES and not info.array


def exposed(spec: ScenarioSpec, interfaces: Mapping[str, FederateInterface], federate: str) -> list[str]:
    """Outputs that leave the federate's host, for other federates and the recorder to see.

    Decided by the scenario alone, so that every mode, host and coordinator agrees without any
    model: the `expose` list, in its order; without one, in a scenario of several sites, only
    the outputs that it connects to an input or records (deny-by-default: a site shares
    nothing the scenario does not use); in a scenario of one site, every output that can
    travel, in its model's order.
    """
    interface = interfaces.get(federate)
    named = spec.declared_outputs(federate)
    if named is None:  # a String or array output cannot travel as a number: not unless named (an error)
        return [] if interface is None else [name for name in interface.outputs()
                                             if travels(interface.variables[name])]
    if interface is None or interface.kind == REMOTE:
        return named
    return [name for name in named if (info := interface.variables.get(name)) is not None
            and info.causality == "output"]
