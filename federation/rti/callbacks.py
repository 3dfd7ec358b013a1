"""Callbacks the RTI queues for a federate (the FederateAmbassador side of HLA)."""

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


@dataclass(frozen=True, slots=True)
class ReflectAttributeValues:
    object_handle: int
    values: Values
    timestamp: LogicalTime | None  # None: receive order
    sender: str


@dataclass(frozen=True, slots=True)
class ReceiveInteraction:
    class_handle: int
    parameters: Values
    timestamp: LogicalTime | None
    sender: str


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
