"""The admin status on the wire: the server's plain FederationStatus to and from its protocol message."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from federation.protocol import pb
from federation.protocol.codec import failure_from_pb, failure_to_pb
from federation.server.federations import FederateStatus, FederationStatus

_FEDERATE_FIELDS = [f.name for f in fields(FederateStatus)]


def status_to_pb(status: FederationStatus) -> Any:
    return pb.FederationStatus(
        name=status.name, state=status.state, error=status.error,
        federates=[pb.FederateStatus(**asdict(f)) for f in status.federates],
        failure=None if status.failure is None else failure_to_pb(status.failure))


def status_from_pb(message: Any) -> FederationStatus:
    return FederationStatus(
        name=message.name, state=message.state, error=message.error,
        federates=[FederateStatus(**{name: getattr(f, name) for name in _FEDERATE_FIELDS}) for f in message.federates],
        failure=failure_from_pb(message.failure) if message.HasField("failure") else None)
