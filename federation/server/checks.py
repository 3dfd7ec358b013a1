"""Checks the service makes on what a client sends, before it reaches the RTI core."""

from __future__ import annotations

from typing import Any

import grpc

from federation.clip import short_repr
from federation.protocol import pb
from federation.rti import errors as E
from federation.server.sessions import ProtocolViolation


def message_items(msg: Any) -> int:
    """The updates and interactions a message carries, in its batch too: the cost of applying it."""
    kind = msg.WhichOneof("body")
    if kind == "step":
        return len(msg.step.updates) + len(msg.step.interactions)
    if kind == "batch":
        return sum(message_items(m) for m in msg.batch.messages)  # a nested batch is refused when applied
    return 0


def check_names(request: Any, limit: int) -> None:
    """ValueError naming the first federation, class or member name that is empty, too long or not printable."""
    _check_name("federation name", request.name, limit)
    for kind, classes in (("object class", request.fom.object_classes),
                          ("interaction class", request.fom.interaction_classes)):
        for c in classes:
            _check_name(kind, c.name, limit)
            for member in c.members:
                _check_name(f"member of {kind} {c.name!r}", member, limit)


ROUTINGS = ("relay", "direct")


def check_routing(request: Any, limit: int) -> str:
    """A CreateFederationRequest's routing ("" is relay, as before the field existed); ValueError naming an
    unknown routing or a relay site whose name is empty, too long or not printable."""
    routing = request.routing or "relay"
    if routing not in ROUTINGS:
        raise ValueError(f"routing {short_repr(routing)} is not one of {', '.join(ROUTINGS)} (\"\" is relay)")
    for site in request.relay_sites:
        _check_name("relay site", site, limit)
    return str(routing)


def _check_name(what: str, name: str, limit: int) -> None:
    if not name:
        raise ValueError(f"{what} is empty")
    if len(name) > limit:
        raise ValueError(f"{what} {name[:40]!r}... is {len(name)} characters long, over the limit of {limit}")
    bad = [c for c in name if not c.isprintable()]
    if bad:
        raise ValueError(f"{what} {name!r} contains the unprintable character {bad[0]!r}")


def decode(raw: Any) -> Any:
    """Parse one ClientMessage; undecodable bytes are the client's fault (INVALID_ARGUMENT), not ours."""
    if not isinstance(raw, (bytes, bytearray)):
        return raw  # already a message (the servicer used with the generated deserializer)
    try:
        return pb.ClientMessage.FromString(bytes(raw))
    except Exception as exc:  # DecodeError, or a bad UTF-8 string field
        raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT,
                                f"malformed ClientMessage ({len(raw)} bytes) could not be decoded: {exc}") from None


def pairs(handles: Any, values: Any, what: str) -> dict[int, float]:
    if len(handles) != len(values):
        raise E.RTIError(f"{len(handles)} {what} handles but {len(values)} values")
    if len(set(handles)) != len(handles):
        raise E.RTIError(f"an {what} handle appears twice in one update")
    return dict(zip(handles, values))
