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
