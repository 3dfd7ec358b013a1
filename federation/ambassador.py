"""Federate-side API (HLA's RTIambassador) over a pluggable transport, plus the Federate base.

Adapters and hand-written federates use only this module. What a transport offers is the
`Transport` protocol (federation.transport.protocol): the RTI core's FederationExecution is the
in-process one, federation.transport.grpc the network one.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Mapping, Sequence

from federation.rti import callbacks as cb
from federation.rti.time import TICKS_PER_SECOND, LogicalTime, to_seconds, to_ticks
from federation.transport.protocol import Transport

# What a federate needs besides the services: callback types and the time base.
__all__ = ["Federate", "LogicalTime", "RTIAmbassador", "TICKS_PER_SECOND", "Transport", "cb", "to_seconds", "to_ticks"]


class RTIAmbassador:
    """One joined federate's view of the RTI: names in, handles on the hot path."""

    def __init__(self, transport: Transport, name: str, federate_type: str = "") -> None:
        self.transport = transport
        self.name = name
        self.fom = transport.fom
        self.handle = transport.join(name, federate_type)
        # The two calls of every step go straight to the transport, one frame less each (same signatures).
        self.update = functools.partial(transport.update_attribute_values, self.handle)  # type: ignore[method-assign]
        self.time_advance_request = functools.partial(  # type: ignore[method-assign]
            transport.time_advance_request, self.handle)

    def resign(self) -> None:
        self.transport.resign(self.handle)

    # declarations
    def publish(self, class_name: str, attributes: Sequence[str]) -> None:
        self.transport.publish_object_class_attributes(self.handle, class_name, list(attributes))

    def subscribe(self, class_name: str, attributes: Sequence[str]) -> None:
        self.transport.subscribe_object_class_attributes(self.handle, class_name, list(attributes))

    def publish_interaction(self, class_name: str) -> None:
        self.transport.publish_interaction_class(self.handle, class_name)

    def subscribe_interaction(self, class_name: str) -> None:
        self.transport.subscribe_interaction_class(self.handle, class_name)

    # objects and interactions
    def register_object_instance(self, class_name: str, name: str | None = None) -> int:
        return self.transport.register_object_instance(self.handle, class_name, name)

    def attribute_handles(self, class_name: str, names: Sequence[str]) -> list[int]:
        cls = self.fom.object_class(class_name)
        return sorted(self.fom.attribute_handles(cls, names))

    def update(self, object_handle: int, values: Mapping[int, float], timestamp: LogicalTime | None = None) -> None:
        """Update attribute values (each instance binds this straight to its transport in __init__)."""
        self.transport.update_attribute_values(self.handle, object_handle, values, timestamp)

    def send_interaction(
        self, class_name: str, parameters: Mapping[str, float], timestamp: LogicalTime | None = None
    ) -> None:
        cls = self.fom.interaction_class(class_name)
        unknown = [p for p in parameters if p not in cls.member_handles]
        if unknown:
            from federation.rti.errors import InteractionParameterNotDefined

            raise InteractionParameterNotDefined(f"interaction {class_name!r} has no parameter(s) {unknown}")
        values = {cls.member_handles[p]: float(v) for p, v in parameters.items()}
        self.transport.send_interaction(self.handle, class_name, values, timestamp)

    # time management
    def enable_time_regulation(self, lookahead: LogicalTime) -> None:
        self.transport.enable_time_regulation(self.handle, lookahead)

    def enable_time_constrained(self, latest_values: bool = False) -> None:
        """latest_values: reflections released by one grant arrive merged per object (latest value wins)."""
        self.transport.enable_time_constrained(self.handle, latest_values)

    def time_advance_request(self, time: LogicalTime) -> None:
        """Request a time advance (each instance binds this straight to its transport in __init__)."""
        self.transport.time_advance_request(self.handle, time)

    def next_message_request(self, time: LogicalTime) -> None:
        self.transport.next_message_request(self.handle, time)

    # synchronization points
    def register_synchronization_point(self, label: str, tag: str = "", members: list[str] | None = None) -> None:
        self.transport.register_synchronization_point(self.handle, label, tag, members)

    def synchronization_point_achieved(self, label: str) -> None:
        self.transport.synchronization_point_achieved(self.handle, label)

    def final_callbacks(self) -> tuple[list[cb.Callback], LogicalTime | None]:
        """After a failure: what is queued, every message below the last safe GALT, and that GALT."""
        return self.transport.drain_below_galt(self.handle)

    def evoke_callbacks(self) -> list[cb.Callback]:
        return self.transport.drain(self.handle)


class Federate(ABC):
    """A participant driven by callbacks: the runtime joins it, then feeds it callbacks."""

    name: str
    site: str
    done: bool = False
    time: LogicalTime = 0  # its logical time: the last time granted to it

    @abstractmethod
    def start(self, amb: RTIAmbassador) -> None:
        """Declare, register and enable time management after joining."""

    @abstractmethod
    def handle(self, callbacks: list[cb.Callback]) -> None:
        """React to a batch of callbacks (reflections first, then at most one grant)."""

    def close(self) -> None:
        """Release resources (FMU instances, files); called once, also after errors."""
