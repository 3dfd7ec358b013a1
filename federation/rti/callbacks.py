"""Callbacks the RTI queues for a federate (the FederateAmbassador side of HLA).

One callback object (and its values) may go to several receivers, so receivers never
mutate one. The three created on every update or grant are plain slotted classes rather
than frozen ones: a frozen dataclass's __init__ costs twice as much, a tenth of the
orchestration cost of a federate-step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from .time import LogicalTime

Values = Mapping[int, float]


@dataclass(frozen=True, slots=True)
class DiscoverObjectInstance:
    object_handle: int
    class_handle: int
    name: str


@dataclass(frozen=True, slots=True)
class RemoveObjectInstance:
    object_handle: int


@dataclass(slots=True)  # not frozen: see the module docstring
class ReflectAttributeValues:
    object_handle: int
    values: Values
    timestamp: LogicalTime | None  # None: receive order
    sender: str


@dataclass(slots=True)  # not frozen: see the module docstring
class ReceiveInteraction:
    class_handle: int
    parameters: Values
    timestamp: LogicalTime | None
    sender: str


@dataclass(slots=True)  # not frozen: see the module docstring
class TimeAdvanceGrant:
    time: LogicalTime


@dataclass(frozen=True, slots=True)
class TimeRegulationEnabled:
    time: LogicalTime


@dataclass(frozen=True, slots=True)
class TimeConstrainedEnabled:
    time: LogicalTime


@dataclass(frozen=True, slots=True)
class AnnounceSynchronizationPoint:
    label: str
    tag: str


@dataclass(frozen=True, slots=True)
class FederationSynchronized:
    label: str


Callback = Union[
    DiscoverObjectInstance,
    RemoveObjectInstance,
    ReflectAttributeValues,
    ReceiveInteraction,
    TimeAdvanceGrant,
    TimeRegulationEnabled,
    TimeConstrainedEnabled,
    AnnounceSynchronizationPoint,
    FederationSynchronized,
]


def merge_latest_values(items: list[Callback]) -> list[Callback]:
    """Latest-value delivery: each run of reflections between other callbacks keeps one per object.

    The kept reflection carries every attribute's latest value (later reflections win) and
    the last one's timestamp, at the position of that object's last reflection in the run,
    so what a latest-wins federate ends up holding is unchanged. Interactions and every
    other callback keep their places: nothing is merged or moved across them. Shared
    reflections are never mutated; merged ones are new. It suits federates whose inputs each
    have one source (scenario validation refuses an input fed twice); the recorder, which
    rebuilds rows between grants, takes every reflection instead.
    """
    out: list[Callback] = []
    run: dict[int, list[ReflectAttributeValues]] = {}  # object -> its reflections, by last occurrence
    for c in items:
        if type(c) is ReflectAttributeValues:
            group = run.pop(c.object_handle, None) or []
            group.append(c)
            run[c.object_handle] = group
        else:
            _end_run(run, out)
            out.append(c)
    _end_run(run, out)
    return out


def _end_run(run: dict[int, list[ReflectAttributeValues]], out: list[Callback]) -> None:
    for group in run.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        values: dict[int, float] = {}
        for r in group:
            values.update(r.values)
        last = group[-1]
        out.append(ReflectAttributeValues(last.object_handle, values, last.timestamp, last.sender))
    run.clear()
