"""Conversions between RTI-core values (FOM, callbacks, errors) and protocol messages."""

from __future__ import annotations

from typing import Any

from federation.errors import FederationFailed
from federation.rti import FOM, callbacks as cb, errors as E

from .stubs import pb


def fom_to_pb(fom: FOM) -> Any:
    return pb.FOMSpec(
        object_classes=[pb.ClassSpec(name=c.name, members=c.members) for c in fom.object_classes.values()],
        interaction_classes=[pb.ClassSpec(name=c.name, members=c.members) for c in fom.interaction_classes.values()],
    )


def fom_from_pb(spec: Any) -> FOM:
    """The FOM a spec describes; ValueError names a class defined twice (a dict would merge them silently)."""
    return FOM(_classes(spec.object_classes, "object class"), _classes(spec.interaction_classes, "interaction class"))


def _classes(specs: Any, kind: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in specs:
        if c.name in out:
            raise ValueError(f"{kind} {c.name!r} is defined twice in the FOM")
        out[c.name] = list(c.members)
    return out


def _ts(timestamped: bool, timestamp: int) -> int | None:
    return timestamp if timestamped else None


def callback_to_pb(c: cb.Callback) -> Any:
    if isinstance(c, cb.ReflectAttributeValues):
        return pb.Callback(reflect=pb.Reflection(
            object=c.object_handle, attributes=list(c.values), values=list(c.values.values()),
            timestamped=c.timestamp is not None, timestamp=c.timestamp or 0, sender=c.sender))
    if isinstance(c, cb.TimeAdvanceGrant):
        return pb.Callback(grant=c.time)
    if isinstance(c, cb.ReceiveInteraction):
        return pb.Callback(interaction=pb.Received(
            interaction_class=c.class_handle, parameters=list(c.parameters), values=list(c.parameters.values()),
            timestamped=c.timestamp is not None, timestamp=c.timestamp or 0, sender=c.sender))
    if isinstance(c, cb.DiscoverObjectInstance):
        return pb.Callback(discover=pb.Discovered(object=c.object_handle, object_class=c.class_handle, name=c.name))
    if isinstance(c, cb.RemoveObjectInstance):
        return pb.Callback(remove=c.object_handle)
    if isinstance(c, cb.TimeRegulationEnabled):
        return pb.Callback(regulation_enabled=c.time)
    if isinstance(c, cb.TimeConstrainedEnabled):
        return pb.Callback(constrained_enabled=c.time)
    if isinstance(c, cb.AnnounceSynchronizationPoint):
        return pb.Callback(announce=c.label)
    if isinstance(c, cb.FederationSynchronized):
        return pb.Callback(synchronized=c.label)
    raise TypeError(f"no wire form for {c!r}")


def callback_from_pb(m: Any) -> cb.Callback:
    kind = m.WhichOneof("body")
    if kind == "reflect":
        r = m.reflect
        return cb.ReflectAttributeValues(r.object, dict(zip(r.attributes, r.values)), _ts(r.timestamped, r.timestamp), r.sender)
    if kind == "grant":
        return cb.TimeAdvanceGrant(m.grant)
    if kind == "interaction":
        i = m.interaction
        return cb.ReceiveInteraction(i.interaction_class, dict(zip(i.parameters, i.values)), _ts(i.timestamped, i.timestamp), i.sender)
    if kind == "discover":
        return cb.DiscoverObjectInstance(m.discover.object, m.discover.object_class, m.discover.name)
    if kind == "remove":
        return cb.RemoveObjectInstance(m.remove)
    if kind == "regulation_enabled":
        return cb.TimeRegulationEnabled(m.regulation_enabled)
    if kind == "constrained_enabled":
        return cb.TimeConstrainedEnabled(m.constrained_enabled)
    if kind == "announce":
        return cb.AnnounceSynchronizationPoint(m.announce, "")
    if kind == "synchronized":
        return cb.FederationSynchronized(m.synchronized)
    raise ValueError(f"unknown callback kind {kind!r}")


def error_from_pb(err: Any) -> E.RTIError:
    """Rebuild the typed HLA error the server raised; unknown names stay RTIError."""
    cls = getattr(E, err.type, None)
    if not (isinstance(cls, type) and issubclass(cls, E.RTIError)):
        cls = E.RTIError
    return cls(err.message)


def failure_from_pb(failed: Any) -> FederationFailed:
    """The FederationFailed a `failed` message (or a status's failure) describes."""
    return FederationFailed(failed.federate, failed.host, failed.time, failed.reason, failed.reported)


def failure_to_pb(failure: FederationFailed) -> Any:
    """The `failed` message (or a status's failure) that describes `failure`."""
    return pb.FederationFailed(federate=failure.federate, host=failure.host, time=failure.time,
                               reason=failure.reason, reported=failure.reported)
