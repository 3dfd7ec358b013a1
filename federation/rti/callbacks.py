"""Callbacks the RTI queues for a federate (the FederateAmbassador side of HLA)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping, TypeVar, Union

from .time import LogicalTime

Values = Mapping[int, float]

_C = TypeVar("_C", bound=type)


def _fast_init(cls: _C) -> _C:
    """Give a frozen, slotted dataclass an __init__ that fills its slots through their descriptors.

    The __init__ that dataclass(frozen=True) writes goes through object.__setattr__ for
    every field, about twice as slow; these callbacks are created on every update and
    grant. Instances stay exactly as frozen: only construction changes.
    """
    names = [f.name for f in fields(cls)]
    setters = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    body = "".join(f"\n    _set_{n}(self, {n})" for n in names)
    namespace: dict[str, object] = {}
    exec(f"def __init__(self, {', '.join(names)}):{body}", setters, namespace)  # as dataclasses itself does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls


@dataclass(frozen=True, slots=True)
class DiscoverObjectInstance:
    object_handle: int
    class_handle: int
    name: str


@dataclass(frozen=True, slots=True)
class RemoveObjectInstance:
    object_handle: int


@_fast_init
@dataclass(frozen=True, slots=True)
class ReflectAttributeValues:
    object_handle: int
    values: Values
    timestamp: LogicalTime | None  # None: receive order
    sender: str


@_fast_init
@dataclass(frozen=True, slots=True)
class ReceiveInteraction:
    class_handle: int
    parameters: Values
    timestamp: LogicalTime | None
    sender: str


@_fast_init
@dataclass(frozen=True, slots=True)
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
