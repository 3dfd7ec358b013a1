"""The RTI server against hostile and broken clients, over real gRPC on localhost.

Every bad message must earn a precise gRPC status (protocol violations: the session is
closed) or a typed HLA Error reply (illegal requests: the session stays usable), and
must never disturb another federation: each case runs while a healthy two-federate
federation steps through the real client in the background, and that federation's
callback sequence must equal the one of an undisturbed run. A hypothesis fuzzer then
throws random sessions at the server under the same watch.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings, strategies as st

from federation.ambassador import RTIAmbassador
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_to_pb
from federation.rti import FOM, callbacks as cb, errors as E
from federation.transport import outbox
from federation.transport.grpc import GrpcTransport, RTIConnection
from federation.server.limits import Limits
from federation.server.serving import serve

MAX_BYTES = 64 * 1024
DT = 100_000_000  # 0.1 s in ticks
LA = DT
STEPS = 120  # healthy federation length; paced until the attack is over, then at full speed
PACE = 0.01
FOM_SPEC = FOM({"Ball": ["x", "v"]}, {"Kick": ["f"]})
OK = grpc.StatusCode.OK
HLA_ERRORS = {n for n in dir(E) if isinstance(getattr(E, n), type) and issubclass(getattr(E, n), E.RTIError)}


# ---------------------------------------------------------------- the live server
class _Crashes(logging.Handler):
    """Collects what must never happen on the server: escaped exceptions and crashed sessions."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or "crashed" in text or "Exception" in text:
            self.records.append(record)


@dataclass
class Live:
    target: str
    channel: grpc.Channel
    admin: Any
    health: Any
    raw: Any  # Session with identity serializers: we send bytes, we get bytes
    crashes: _Crashes
    names: Iterator[int]

    def fresh(self, prefix: str, **kw: Any) -> str:
        name = f"{prefix}-{next(self.names)}"
        create(self.admin, name, **kw)
        return name


def create(admin: Any, name: str, **kw: Any) -> Any:
    return admin.CreateFederation(pb.CreateFederationRequest(
        protocol_version=PROTOCOL_VERSION, name=name, fom=fom_to_pb(FOM_SPEC), **kw), timeout=5)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    server, port, service = serve("127.0.0.1:0", Limits(max_message_bytes=MAX_BYTES, heartbeat_timeout=5.0,
                                                         grant_timeout=8.0))
    crashes = _Crashes()
    watched = [logging.getLogger("federation.server.service"), logging.getLogger("grpc")]
    for lg in watched:
        lg.addHandler(crashes)
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=10)
    try:
        yield Live(target, channel, pb_grpc.AdminStub(channel), health_pb2_grpc.HealthStub(channel),
                   channel.stream_stream("/federation.v1.RTI/Session"), crashes, itertools.count(1))
    finally:
        for lg in watched:
            lg.removeHandler(crashes)
        channel.close()
        service.stop()
        server.stop(0)


def msg(rid: int = 0, version: int = PROTOCOL_VERSION, **body: Any) -> bytes:
    return pb.ClientMessage(protocol_version=version, request_id=rid, **body).SerializeToString()


def hello(federation: str, rid: int = 1, site: str = "attacker") -> bytes:
    return msg(rid, hello=pb.Hello(federation=federation, site=site))


@dataclass
class Outcome:
    replies: list[Any]
    code: grpc.StatusCode
    details: str

    def reply(self, rid: int) -> Any:
        found = [r for r in self.replies if r.reply_to == rid]
        assert len(found) == 1, f"expected one reply to {rid}, got {found} (status {self.code}: {self.details})"
        return found[0]

    def error(self, rid: int, type_: str, *words: str) -> Any:
        r = self.reply(rid)
        assert r.WhichOneof("body") == "error", r
        assert r.error.type == type_, r.error
        for w in words:
            assert w in r.error.message, (w, r.error.message)
        return r.error

    def closed(self, code: grpc.StatusCode, *words: str) -> None:
        assert self.code == code, (self.code, self.details)
        for w in words:
            assert w in self.details, (w, self.details)

    def callbacks(self) -> list[Any]:
        return [c for r in self.replies if r.WhichOneof("body") == "callbacks" for c in r.callbacks.items]


def session(live: Live, messages: list[bytes], timeout: float = 15.0) -> Outcome:
    """One Session stream: send everything, half-close, read to the end."""
    replies: list[Any] = []
    call = live.raw(iter(messages), timeout=timeout)
    try:
        for data in call:
            replies.append(pb.ServerMessage.FromString(data))
    except grpc.RpcError as exc:
        assert exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED, "the server hung on this session"
        return Outcome(replies, exc.code(), exc.details() or "")
    return Outcome(replies, OK, "")


# ---------------------------------------------------------- the healthy federation
def _await_grant(conn: RTIConnection, handle: int, log: list[cb.Callback], deadline: float) -> None:
    while True:
        items = conn.drain(handle)
        log.extend(items)
        if any(isinstance(c, cb.TimeAdvanceGrant) for c in items):
            return
        assert time.monotonic() < deadline, "healthy federation got no grant"
        conn.take_ready(0.2)  # raises FederationFailed / ConnectionLost


def run_healthy(target: str, name: str, steps: int, hurry: threading.Event | None = None,
                started: threading.Event | None = None) -> dict[str, list[cb.Callback]]:
    """Producer and consumer, both regulating and constrained, on two host sessions; their callbacks."""
    conns = [RTIConnection(target, name, "site-a", timeout=10), RTIConnection(target, name, "site-b", timeout=10)]
    try:
        prod = RTIAmbassador(GrpcTransport(conns[0]), "producer")
        cons = RTIAmbassador(GrpcTransport(conns[1]), "consumer")
        prod.publish("Ball", ["x", "v"])
        cons.subscribe("Ball", ["x", "v"])
        obj = prod.register_object_instance("Ball", "producer.ball")
        for amb in (prod, cons):
            amb.enable_time_regulation(LA)
            amb.enable_time_constrained()
        logs: dict[str, list[cb.Callback]] = {"producer": [], "consumer": []}
        deadline = time.monotonic() + 30
        for k in range(1, steps + 1):
            t = k * DT
            prod.update(obj, {0: float(k), 1: -k / 3}, timestamp=t)
            prod.time_advance_request(t)
            cons.time_advance_request(t)
            _await_grant(conns[0], prod.handle, logs["producer"], deadline)
            _await_grant(conns[1], cons.handle, logs["consumer"], deadline)
            if started is not None and k == 3:
                started.set()
            if hurry is not None and not hurry.is_set():
                hurry.wait(PACE)
        prod.resign()
        cons.resign()
        return logs
    finally:
        for c in conns:
            c.close()


@pytest.fixture(scope="module")
def baseline(live: Live) -> dict[str, list[cb.Callback]]:
    logs = run_healthy(live.target, live.fresh("baseline"), STEPS)
    consumer = logs["consumer"]
    assert sum(isinstance(c, cb.TimeAdvanceGrant) for c in consumer) == STEPS
    assert [c.values for c in consumer if isinstance(c, cb.ReflectAttributeValues)][:2] == [
        {0: 1.0, 1: -1 / 3}, {0: 2.0, 1: -2 / 3}]
    return logs


def assert_serving(live: Live) -> None:
    for service in ("", "federation.v1.RTI"):
        reply = live.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names
    assert not live.crashes.records, [r.getMessage() for r in live.crashes.records]


@contextmanager
def healthy_running(live: Live, baseline: dict[str, list[cb.Callback]]) -> Iterator[str]:
    """A healthy federation stepping in the background while the block attacks the server."""
    name = live.fresh("healthy")
    hurry, started = threading.Event(), threading.Event()
    result: dict[str, Any] = {}

    def body() -> None:
        try:
            result["logs"] = run_healthy(live.target, name, STEPS, hurry, started)
        except BaseException as exc:  # reported below
            result["error"] = exc
            started.set()

    thread = threading.Thread(target=body, name=f"healthy-{name}", daemon=True)
    thread.start()
    assert started.wait(20), "healthy federation did not start"
    try:
        yield name
        # Still running after the attack, and not failed by it.
        status = live.admin.InspectFederation(pb.FederationRef(name=name), timeout=5)
        assert status.state in ("running", "finished") and not status.error, status
    finally:
        hurry.set()
        thread.join(60)
    assert not thread.is_alive(), "healthy federation hung"
    if "error" in result:
        raise AssertionError(f"healthy federation {name} was disturbed: {result['error']!r}") from result["error"]
    assert result["logs"] == baseline, "healthy federation saw different callbacks than the undisturbed run"
    status = live.admin.InspectFederation(pb.FederationRef(name=name), timeout=5)
    assert status.state == "finished" and not status.error, status
    assert_serving(live)


@pytest.fixture
def healthy(live: Live, baseline: dict[str, list[cb.Callback]]) -> Iterator[str]:
    with healthy_running(live, baseline) as name:
        yield name


def joined_publisher(fed: str, lookahead: int | None = None, members: tuple[str, ...] = ("x", "v")) -> list[bytes]:
    """hello, join 'a' (handle 1), publish Ball members, register 'a.ball' (object 1)[, regulate]."""
    out = [hello(fed, 1), msg(2, join=pb.Join(federate_name="a")),
           msg(3, declare=pb.Declare(federate=1, kind=pb.Declare.PUBLISH_OBJECT, class_name="Ball", members=members)),
           msg(4, register_object=pb.RegisterObject(federate=1, class_name="Ball", object_name="a.ball"))]
    if lookahead is not None:
        out.append(msg(5, enable_time=pb.EnableTime(federate=1, regulating=True, lookahead=lookahead)))
    return out


def resign(rid: int, handle: int = 1) -> bytes:
    return msg(rid, resign=pb.Resign(federate=handle))


def update(rid: int, attributes: list[int], values: list[float], obj: int = 1, federate: int = 1,
           timestamp: int | None = None, tar: int | None = None) -> bytes:
    step = pb.Step(federate=federate, updates=[pb.AttributeUpdate(
        object=obj, attributes=attributes, values=values, timestamped=timestamp is not None, timestamp=timestamp or 0)])
    if tar is not None:
        step.request.CopyFrom(pb.TimeRequest(kind=pb.TimeRequest.TAR, time=tar))
    return msg(rid, step=step)


def assert_setup_ok(out: Outcome, last_rid: int = 4) -> None:
    assert out.reply(1).WhichOneof("body") == "welcome"
    assert out.reply(2).joined.federate == 1
    for rid in range(3, last_rid + 1):
        assert out.reply(rid).WhichOneof("body") == "ack", out.reply(rid)
    assert out.reply(4).ack.object == 1


# ------------------------------------------------------------- malformed traffic
def test_malformed_bytes_close_the_session_with_invalid_argument(live: Live, healthy: str) -> None:
    out = session(live, [b"\xff\xff\xff\xff\x0f"])
    out.closed(grpc.StatusCode.INVALID_ARGUMENT, "malformed ClientMessage", "5 bytes", "could not be decoded")
    assert out.replies == []

    # A string field that is not UTF-8: Hello{federation=b"\xff"} by hand.
    bad_utf8 = bytes([0x08, 0x01, 0x1A, 0x03, 0x0A, 0x01, 0xFF])
    session(live, [bad_utf8]).closed(grpc.StatusCode.INVALID_ARGUMENT, "malformed ClientMessage")

    # Garbage from a host with a joined federate: its session closes, its own federation fails
    # (naming the violation), nothing else does.
    fed = live.fresh("garbage")
    out = session(live, [*joined_publisher(fed), b"\x0a\x80", msg(9, join=pb.Join(federate_name="b"))])
    assert_setup_ok(out)
    out.closed(grpc.StatusCode.INVALID_ARGUMENT, "malformed ClientMessage", "2 bytes")
    assert all(r.reply_to != 9 for r in out.replies), "the session went on after the violation"
    status = live.admin.InspectFederation(pb.FederationRef(name=fed), timeout=5)
    assert status.state == "failed" and "malformed ClientMessage" in status.error and "'a'" in status.error


def test_oversized_message_is_resource_exhausted(live: Live, healthy: str) -> None:
    big = msg(1, hello=pb.Hello(federation="f" * (MAX_BYTES + 100), site="s"))
    out = session(live, [big])
    out.closed(grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max", str(MAX_BYTES))
    # Oversized mid-session from a host with federates: closed, its federation fails, the RTI goes on.
    fed = live.fresh("oversize")
    out = session(live, [*joined_publisher(fed), update(6, [0], [1.0] * (MAX_BYTES // 8 + 10))])
    out.closed(grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max")
    status = live.admin.InspectFederation(pb.FederationRef(name=fed), timeout=5)
    assert status.state == "failed" and "'a'" in status.error


def test_wrong_protocol_version_names_both_versions(live: Live, healthy: str) -> None:
    out = session(live, [msg(1, version=7, hello=pb.Hello(federation=healthy, site="s"))])
    out.closed(grpc.StatusCode.FAILED_PRECONDITION, "protocol version 7", f"version {PROTOCOL_VERSION}",
               "not supported")
    out = session(live, [msg(1, version=0, heartbeat=pb.Heartbeat())])  # unset version
    out.closed(grpc.StatusCode.FAILED_PRECONDITION, "protocol version 0", f"version {PROTOCOL_VERSION}")
    # A version change mid-session is refused just the same, and the session closed.
    fed = live.fresh("version")
    out = session(live, [hello(fed), msg(2, version=2, join=pb.Join(federate_name="a")),
                         msg(3, join=pb.Join(federate_name="b"))])
    out.closed(grpc.StatusCode.FAILED_PRECONDITION, "protocol version 2", f"version {PROTOCOL_VERSION}")
    assert [r.reply_to for r in out.replies] == [1]


def test_admin_create_federation_with_wrong_version(live: Live, healthy: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        live.admin.CreateFederation(pb.CreateFederationRequest(
            protocol_version=99, name="from-the-future", fom=fom_to_pb(FOM_SPEC)), timeout=5)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "protocol version 99" in info.value.details() and f"version {PROTOCOL_VERSION}" in info.value.details()
    assert "from-the-future" not in live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names
    with pytest.raises(grpc.RpcError) as info:  # and the name taken by a healthy federation stays taken
        create(live.admin, healthy)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS and healthy in info.value.details()


def test_admin_create_federation_refuses_a_grant_timeout_that_is_not_a_finite_non_negative_number(
        live: Live, healthy: str) -> None:
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(grpc.RpcError) as info:
            create(live.admin, "bad-timeout", grant_timeout_s=bad)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "grant_timeout_s" in info.value.details() and str(bad) in info.value.details()
    assert "bad-timeout" not in live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names


def test_session_order_violations(live: Live, healthy: str) -> None:
    fed = live.fresh("order")
    session(live, [msg(1, join=pb.Join(federate_name="a"))]).closed(
        grpc.StatusCode.FAILED_PRECONDITION, "join before hello")
    out = session(live, [hello(fed, 1), hello(fed, 2)])
    out.closed(grpc.StatusCode.FAILED_PRECONDITION, "hello sent twice")
    assert [r.reply_to for r in out.replies] == [1]
    session(live, [hello(fed), msg(2)]).closed(grpc.StatusCode.INVALID_ARGUMENT, "empty message", "no body")
    session(live, [hello(fed, site="")]).closed(grpc.StatusCode.INVALID_ARGUMENT, "no site")


def test_batches_apply_in_order_and_may_not_nest(live: Live, healthy: str) -> None:
    fed = live.fresh("batched")
    inner = [pb.ClientMessage.FromString(m) for m in (hello(fed), msg(2, join=pb.Join(federate_name="b1")))]
    out = session(live, [msg(0, batch=pb.Batch(messages=inner)), msg(3, resign=pb.Resign(federate=1))])
    assert [r.WhichOneof("body") for r in out.replies[:2]] == ["welcome", "joined"], out.replies
    nested = pb.ClientMessage(protocol_version=PROTOCOL_VERSION, batch=pb.Batch(messages=inner[:1]))
    session(live, [hello(fed, site="s2"), msg(0, batch=pb.Batch(messages=[nested]))]).closed(
        grpc.StatusCode.INVALID_ARGUMENT, "batch inside a batch")


# --------------------------------------------------------------- unknown handles
def test_unknown_federate_handle_is_an_error_reply_and_leaves_the_federation_open(live: Live, healthy: str) -> None:
    fed = live.fresh("unknown-federate")
    out = session(live, [
        hello(fed),
        msg(2, declare=pb.Declare(federate=99, kind=pb.Declare.PUBLISH_OBJECT, class_name="Ball", members=["x"])),
        update(3, [0], [1.0], federate=4_000_000_000),
        msg(4, enable_time=pb.EnableTime(federate=0, regulating=True)),
        # Regression: a rejected request, even a resign of a federate nobody joined, on a
        # federation nobody joined yet used to mark it "finished".
        resign(5, 7),
        msg(6, join=pb.Join(federate_name="a")),
        resign(7, 1),
    ])
    assert out.code == OK, out.details
    out.error(2, "FederateNotExecutionMember", "99", repr(fed))
    out.error(3, "FederateNotExecutionMember", "4000000000")
    out.error(4, "FederateNotExecutionMember", "handle 0")
    out.error(5, "FederateNotExecutionMember", "7")
    assert out.reply(6).joined.federate == 1
    assert out.reply(7).WhichOneof("body") == "ack"


def test_unknown_object_and_attribute_handles(live: Live, healthy: str) -> None:
    fed = live.fresh("unknown-object")
    out = session(live, [
        *joined_publisher(fed),
        update(6, [0], [1.0], obj=42),
        update(7, [7], [1.0]),
        update(8, [0, 2**32 - 1], [1.0, 2.0]),
        update(9, [0, 1], [1.0]),
        update(10, [0], [1.0, 2.0]),
        update(11, [0, 0], [1.0, 2.0]),
        msg(12, register_object=pb.RegisterObject(federate=1, class_name="NoSuchClass")),
        update(13, [0, 1], [1.0, 2.0]),  # still a working federate
        resign(14),
    ])
    assert out.code == OK, out.details
    assert_setup_ok(out)
    out.error(6, "ObjectInstanceNotKnown", "42")
    out.error(7, "AttributeNotDefined", "[7]", "Ball")
    out.error(8, "AttributeNotDefined", str(2**32 - 1))
    out.error(9, "RTIError", "2 attribute handles but 1 values")
    out.error(10, "RTIError", "1 attribute handles but 2 values")
    out.error(11, "RTIError", "appears twice")
    out.error(12, "ObjectClassNotDefined", "NoSuchClass")
    assert out.reply(13).WhichOneof("body") == "ack"
    assert out.reply(14).WhichOneof("body") == "ack"


def test_updates_to_unpublished_attributes(live: Live, healthy: str) -> None:
    fed = live.fresh("unpublished")
    out = session(live, [*joined_publisher(fed, members=("x",)), update(6, [0, 1], [1.0, 2.0]),
                         update(7, [0], [1.0]), resign(8)])
    assert out.code == OK, out.details
    assert_setup_ok(out)
    out.error(6, "AttributeNotPublished", "'a'", "Ball", "'v'")
    assert out.reply(7).WhichOneof("body") == "ack"


# ------------------------------------------------------------------ time going back
def test_time_going_backwards(live: Live, healthy: str) -> None:
    fed = live.fresh("backwards")
    out = session(live, [
        *joined_publisher(fed, lookahead=LA),
        msg(6, step=pb.Step(federate=1, request=pb.TimeRequest(kind=pb.TimeRequest.TAR, time=3 * DT))),
        msg(7, step=pb.Step(federate=1, request=pb.TimeRequest(kind=pb.TimeRequest.TAR, time=2 * DT))),
        msg(8, step=pb.Step(federate=1, request=pb.TimeRequest(kind=pb.TimeRequest.NMR, time=-2**63))),
        update(9, [0], [1.0], timestamp=3 * DT + LA - 1),
        update(10, [0], [1.0], timestamp=0),
        update(11, [0], [1.0], timestamp=3 * DT + LA, tar=4 * DT),  # on the boundary: fine
        msg(12, step=pb.Step(federate=1, request=pb.TimeRequest(kind=7, time=5 * DT))),
        resign(13),
    ])
    assert out.code == OK, out.details
    assert_setup_ok(out, 5)
    assert out.reply(6).WhichOneof("body") == "ack"
    out.error(7, "LogicalTimeAlreadyPassed", str(2 * DT), f"already at {3 * DT}")
    out.error(8, "LogicalTimeAlreadyPassed", str(-2**63))
    out.error(9, "InvalidLogicalTime", str(3 * DT + LA - 1), "below its time + lookahead", str(3 * DT + LA))
    out.error(10, "InvalidLogicalTime", "timestamp 0")
    assert out.reply(11).WhichOneof("body") == "ack"
    out.error(12, "RTIError", "time request kind 7")
    grants = [c.grant for c in out.callbacks() if c.WhichOneof("body") == "grant"]
    assert grants == [3 * DT, 4 * DT]


# ----------------------------------------------------------------- names and owners
def test_hello_to_a_federation_that_does_not_exist(live: Live, healthy: str) -> None:
    out = session(live, [hello("no-such-federation"), msg(2, join=pb.Join(federate_name="a"))])
    out.closed(grpc.StatusCode.NOT_FOUND, "'no-such-federation'", "does not exist")
    assert out.replies == []
    with pytest.raises(grpc.RpcError) as info:
        live.admin.InspectFederation(pb.FederationRef(name="no-such-federation"), timeout=5)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND and "no-such-federation" in info.value.details()
    # The real client reports it too.
    with pytest.raises(Exception, match="no-such-federation"):
        RTIConnection(live.target, "no-such-federation", "site-x", timeout=5).close()


def test_duplicate_federate_names(live: Live, healthy: str) -> None:
    # Against a running federation's members, from another host: refused, nothing fails.
    out = session(live, [hello(healthy), msg(2, join=pb.Join(federate_name="producer")),
                         msg(3, join=pb.Join(federate_name="consumer"))])
    assert out.code == OK, out.details
    out.error(2, "FederateNameAlreadyInUse", "'producer'", repr(healthy))
    out.error(3, "FederateNameAlreadyInUse", "'consumer'")
    # Within one session.
    fed = live.fresh("dup")
    out = session(live, [hello(fed), msg(2, join=pb.Join(federate_name="a")), msg(3, join=pb.Join(federate_name="a")),
                         msg(4, join=pb.Join(federate_name="")), resign(5)])
    assert out.code == OK, out.details
    assert out.reply(2).joined.federate == 1
    out.error(3, "FederateNameAlreadyInUse", "'a'")
    out.error(4, "RTIError", "must not be empty")


def test_using_another_sessions_federate_handle(live: Live, healthy: str) -> None:
    """PERMISSION_DENIED and the attacker's session closed; the victim federation is NOT failed:
    the attacker's session had no federates, so nothing it did can fail anyone."""
    status = live.admin.InspectFederation(pb.FederationRef(name=healthy), timeout=5)
    handles = {f.name for f in status.federates}
    assert handles == {"producer", "consumer"}
    for victim in (1, 2):  # producer and consumer: joined first in a fresh federation
        out = session(live, [
            hello(healthy),
            msg(2, step=pb.Step(federate=victim, updates=[pb.AttributeUpdate(object=1, attributes=[0], values=[666.0],
                                                                                 timestamped=True, timestamp=10**12)],
                                request=pb.TimeRequest(kind=pb.TimeRequest.TAR, time=10**12))),
            msg(3, join=pb.Join(federate_name="intruder")),
        ])
        out.closed(grpc.StatusCode.PERMISSION_DENIED, f"federate handle {victim}", "another host's session")
        assert [r.reply_to for r in out.replies] == [1], "the session went on after the violation"
    for kind in ("resign", "sync"):
        body = ({"resign": pb.Resign(federate=1)} if kind == "resign"
                else {"register_sync": pb.RegisterSync(federate=2, label="stop")})
        session(live, [hello(healthy), msg(2, **body)]).closed(grpc.StatusCode.PERMISSION_DENIED, "another host")
    status = live.admin.InspectFederation(pb.FederationRef(name=healthy), timeout=5)
    assert status.state == "running" and not status.error
    assert {f.name for f in status.federates} == {"producer", "consumer"}
    # The healthy fixture then checks the victim's reflections: no 666.0 ever arrived.


def test_attacker_with_own_federate_fails_only_its_own_federation(live: Live, healthy: str) -> None:
    fed = live.fresh("attacker-home")
    out = session(live, [hello(fed), msg(2, join=pb.Join(federate_name="a")), hello(healthy, 3)])
    out.closed(grpc.StatusCode.FAILED_PRECONDITION, "hello sent twice")
    status = live.admin.InspectFederation(pb.FederationRef(name=fed), timeout=5)
    assert status.state == "failed" and "hello sent twice" in status.error


# ------------------------------------------------------------------------ fuzzing
FUZZ, HEALTHY = "<fuzz>", "<healthy>"

def _mostly(value: Any, otherwise: Any, one_in: int = 8) -> Any:
    return st.integers(0, one_in - 1).flatmap(lambda i: otherwise if i == 0 else st.just(value))


u32 = st.one_of(st.integers(1, 2), st.integers(1, 2), st.integers(0, 3), st.integers(0, 2**32 - 1))
s64 = st.one_of(st.integers(-2 * DT, 12 * DT), st.sampled_from([0, DT, LA, -1]), st.integers(-2**63, 2**63 - 1))
texts = st.one_of(st.sampled_from(["", "Ball", "Kick", "x", "v", "f", "a", "b", "producer"]), st.text(max_size=12))
doubles = st.floats(allow_nan=True, allow_infinity=True)
small_lists = st.lists(u32, max_size=4)
float_lists = st.lists(doubles, max_size=4)


def _timestamped() -> Any:
    return st.tuples(st.booleans(), s64)


updates = st.builds(lambda o, a, v, ts: pb.AttributeUpdate(object=o, attributes=a, values=v, timestamped=ts[0],
                                                           timestamp=ts[1]),
                    u32, small_lists, float_lists, _timestamped())
interactions = st.builds(lambda c, p, v, ts: pb.InteractionSend(class_name=c, parameters=p, values=v,
                                                                timestamped=ts[0], timestamp=ts[1]),
                         texts, small_lists, float_lists, _timestamped())
time_requests = st.one_of(st.none(), st.builds(lambda k, t: pb.TimeRequest(kind=k, time=t), st.integers(0, 3), s64))
hellos = st.builds(lambda f, s: {"hello": pb.Hello(federation=f, site=s)},
                  st.one_of(st.just(FUZZ), st.just(HEALTHY), texts), st.one_of(st.just("fuzz-site"), texts))
other_bodies = st.one_of(
    st.builds(lambda n, t: {"join": pb.Join(federate_name=n, federate_type=t)}, texts, texts),
    st.builds(lambda h: {"resign": pb.Resign(federate=h)}, u32),
    st.builds(lambda h, k, c, m: {"declare": pb.Declare(federate=h, kind=k, class_name=c, members=m)},
              u32, st.integers(0, 5), texts, st.lists(texts, max_size=3)),
    st.builds(lambda h, c, n: {"register_object": pb.RegisterObject(federate=h, class_name=c, object_name=n)},
              u32, texts, texts),
    st.builds(lambda h, u, i, r: {"step": pb.Step(federate=h, updates=u, interactions=i, request=r)},
              u32, st.lists(updates, max_size=3), st.lists(interactions, max_size=2), time_requests),
    st.builds(lambda h, r, la, c: {"enable_time": pb.EnableTime(federate=h, regulating=r, lookahead=la,
                                                                 constrained=c)},
              u32, st.booleans(), s64, st.booleans()),
    st.builds(lambda h, lbl, t: {"register_sync": pb.RegisterSync(federate=h, label=lbl, tag=t)}, u32, texts, texts),
    st.builds(lambda h, lbl: {"sync_achieved": pb.SyncAchieved(federate=h, label=lbl)}, u32, texts),
    st.builds(lambda t: {"heartbeat": pb.Heartbeat(sent_at=t)}, doubles),
    st.just({}),
)
bodies = _mostly(None, hellos, one_in=15).flatmap(lambda h: other_bodies if h is None else st.just(h))
versions = _mostly(PROTOCOL_VERSION, st.integers(0, 2**32 - 1))
request_ids = st.one_of(st.integers(0, 20), st.integers(0, 2**64 - 1))
OVERSIZE = ("oversize",)
messages = st.integers(0, 15).flatmap(lambda i: (
    st.just(OVERSIZE) if i == 0 else
    st.tuples(st.just("raw"), st.binary(max_size=48)) if i == 1 else
    st.tuples(st.just("pb"), versions, request_ids, bodies)))


def _setup(fed: str, level: int) -> list[bytes]:
    """A valid prefix so the fuzz gets past the door: 0 nothing, 1 hello, 2 federates 1 and 2 with
    declarations and object 1, 3 also both regulating (lookahead LA) and constrained."""
    if level == 0:
        return []
    out = [hello(fed, 0, site="fuzz-site")]
    if level >= 2:
        d = pb.Declare
        out += [msg(101, join=pb.Join(federate_name="a")), msg(102, join=pb.Join(federate_name="b")),
                msg(declare=d(federate=1, kind=d.PUBLISH_OBJECT, class_name="Ball", members=["x", "v"])),
                msg(declare=d(federate=2, kind=d.SUBSCRIBE_OBJECT, class_name="Ball", members=["x", "v"])),
                msg(declare=d(federate=1, kind=d.PUBLISH_INTERACTION, class_name="Kick")),
                msg(declare=d(federate=2, kind=d.SUBSCRIBE_INTERACTION, class_name="Kick")),
                msg(register_object=pb.RegisterObject(federate=1, class_name="Ball", object_name="a.ball"))]
    if level >= 3:
        out += [msg(enable_time=pb.EnableTime(federate=h, regulating=True, lookahead=LA, constrained=True))
                for h in (1, 2)]
    return out


sessions = st.tuples(st.integers(0, 3), st.lists(messages, max_size=12))


def _encode(item: Any, fuzz_fed: str, healthy_fed: str, to_healthy: bool) -> bytes:
    if item == OVERSIZE:
        return msg(1, hello=pb.Hello(federation="o" * (MAX_BYTES + 1), site="s"))
    if item[0] == "raw":
        return bytes(item[1])
    _, version, rid, body = item
    body = dict(body)
    if "hello" in body:
        f = body["hello"].federation
        body["hello"] = pb.Hello(federation={FUZZ: fuzz_fed, HEALTHY: healthy_fed}.get(f, f),
                                 site=body["hello"].site)
    if "join" in body and to_healthy:
        # Joining the healthy federation and leaving would (rightly) fail it: only names taken.
        body["join"] = pb.Join(federate_name="producer")
    return pb.ClientMessage(protocol_version=version, request_id=rid, **body).SerializeToString()


def _expected_first(raw: list[bytes], federations: set[str]) -> tuple[grpc.StatusCode, str] | None:
    """The status the session must end with if decided before a valid hello; None once past it."""
    for data in raw:
        if len(data) > MAX_BYTES:
            return grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max"
        try:
            m = pb.ClientMessage.FromString(data)
        except Exception:
            return grpc.StatusCode.INVALID_ARGUMENT, "malformed ClientMessage"
        if m.protocol_version != PROTOCOL_VERSION:
            return grpc.StatusCode.FAILED_PRECONDITION, f"protocol version {m.protocol_version} is not supported"
        kind = m.WhichOneof("body")
        if kind is None:
            return grpc.StatusCode.INVALID_ARGUMENT, "no body"
        if kind == "heartbeat":
            continue
        if kind != "hello":
            return grpc.StatusCode.FAILED_PRECONDITION, f"{kind} before hello"
        if m.hello.federation not in federations:
            return grpc.StatusCode.NOT_FOUND, "does not exist"
        if not m.hello.site:
            return grpc.StatusCode.INVALID_ARGUMENT, "no site"
        return None
    return OK, ""


FUZZ_EXAMPLES = int(os.environ.get("FEDERATION_FUZZ_EXAMPLES", "100"))
ALLOWED = {OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND,
           grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_fuzzed_sessions_never_break_the_server_or_other_federations(
        live: Live, baseline: dict[str, list[cb.Callback]]) -> None:
    with healthy_running(live, baseline) as healthy_fed:
        seen: Counter[str] = Counter()

        # FEDERATION_FUZZ_EXAMPLES=2000 for a longer, randomized hunt (see --hypothesis-show-statistics).
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=FUZZ_EXAMPLES == 100,
                  print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(sessions)
        def fuzz(case: Any) -> None:
            level, items = case
            fuzz_fed = live.fresh("fuzz")
            to_healthy = any(i[0] == "pb" and "hello" in i[3] and i[3]["hello"].federation == HEALTHY
                             for i in items if i != OVERSIZE)
            raw = [_encode(i, fuzz_fed, healthy_fed, to_healthy) for i in items]
            raw = _setup(fuzz_fed, level) + raw
            existing = set(live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names)
            out = session(live, raw)
            assert out.code in ALLOWED, (out.code, out.details)
            if out.code != OK:
                assert out.details, out.code
            seen[f"status {out.code.name}"] += 1
            expected = _expected_first(raw, existing)
            if level == 0 and expected is not None:
                code, words = expected
                out.closed(code, words)
            sent_ids = set()
            for data in raw:
                try:
                    sent_ids.add(pb.ClientMessage.FromString(data).request_id)
                except Exception:
                    pass
            for r in out.replies:
                kind = r.WhichOneof("body")
                assert kind in {"welcome", "joined", "ack", "error", "callbacks", "failed"}, r
                assert r.reply_to in sent_ids | {0}, r
                seen[f"reply {kind}"] += 1
                if kind == "error":
                    assert r.error.type in HLA_ERRORS and r.error.message, r.error
                    seen[f"error {r.error.type}"] += 1
                if kind == "failed":
                    seen[f"failed: {r.failed.reason.split(' (')[0]}"] += 1
            assert not live.crashes.records, [rec.getMessage() for rec in live.crashes.records]

        fuzz()
        assert_serving(live)
        print(sorted(seen.items()))  # what the fuzzer reached (pytest -s)
        # It got past the door: several closing statuses, welcomes, joins and typed RTI errors.
        assert sum(k.startswith("status") for k in seen) >= 4, seen
        assert seen["reply welcome"] and seen["reply joined"] and seen["reply error"], seen
    assert_serving(live)


def test_destroy_refuses_a_running_federation_with_members_and_removes_an_empty_one(live: Live, healthy: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        live.admin.DestroyFederation(pb.FederationRef(name=healthy), timeout=5)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "still has joined federates" in err.value.details()
    empty = live.fresh("doomed")
    live.admin.DestroyFederation(pb.FederationRef(name=empty), timeout=5)
    assert empty not in live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names
    assert healthy in live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names


# ------------------------------------------------------------------ limits and lifetimes
TIGHT = Limits(max_message_bytes=MAX_BYTES, heartbeat_timeout=30.0, grant_timeout=30.0, max_queued_messages=64,
               max_callbacks_bytes=64, reap_after=3.0, hello_timeout=1.0, max_message_items=100)


@pytest.fixture(scope="module")
def tight() -> Iterator[Live]:
    """A server of its own with tiny queues, Callbacks messages, grace and hello periods."""
    server, port, service = serve("127.0.0.1:0", TIGHT)
    crashes = _Crashes()
    logging.getLogger("federation.server.service").addHandler(crashes)
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target)
    try:
        yield Live(target, channel, pb_grpc.AdminStub(channel), health_pb2_grpc.HealthStub(channel),
                   channel.stream_stream("/federation.v1.RTI/Session"), crashes, itertools.count(1))
    finally:
        logging.getLogger("federation.server.service").removeHandler(crashes)
        channel.close()
        service.stop()
        server.stop(0)


def inspect(live: Live, name: str) -> Any:
    return live.admin.InspectFederation(pb.FederationRef(name=name), timeout=5)


def test_a_batch_over_the_limit_is_refused_naming_its_length_and_the_limit(live: Live, healthy: str) -> None:
    limit = Limits().max_batch_messages
    assert limit >= 2 * outbox.MAX_BATCH  # what a host's Outbox puts in one batch at most
    beat = pb.ClientMessage(protocol_version=PROTOCOL_VERSION, heartbeat=pb.Heartbeat())
    fed = live.fresh("long-batch")
    out = session(live, [*joined_publisher(fed), msg(0, batch=pb.Batch(messages=[beat] * (limit + 1)))])
    assert_setup_ok(out)
    out.closed(grpc.StatusCode.RESOURCE_EXHAUSTED, f"batch of {limit + 1} messages", f"limit of {limit}")
    status = inspect(live, fed)
    assert status.state == "failed" and f"limit of {limit}" in status.error, status
    out = session(live, [hello(fed), msg(0, batch=pb.Batch(messages=[beat] * limit))])  # the limit itself is fine
    assert out.code == OK, out.details


def test_a_message_with_too_many_updates_and_interactions_is_refused(tight: Live) -> None:
    fed = tight.fresh("many-items")
    step = pb.Step(federate=1, updates=[pb.AttributeUpdate(object=1, attributes=[0], values=[1.0])] * 60,
                   interactions=[pb.InteractionSend(class_name="Kick", parameters=[0], values=[1.0])] * 41)
    out = session(tight, [*joined_publisher(fed), msg(5, step=step)])
    assert_setup_ok(out)
    out.closed(grpc.StatusCode.RESOURCE_EXHAUSTED, "message of 101 updates and interactions", "limit of 100")
    status = inspect(tight, fed)
    assert status.state == "failed" and "'a'" in status.error and "limit of 100" in status.error, status
    half = pb.ClientMessage(protocol_version=PROTOCOL_VERSION, step=pb.Step(federate=1, updates=step.updates[:51]))
    out = session(tight, [hello(fed), msg(0, batch=pb.Batch(messages=[half, half]))])  # counted across a batch
    out.closed(grpc.StatusCode.RESOURCE_EXHAUSTED, "message of 102 updates")


def test_a_host_that_never_reads_is_closed_and_its_federation_fails_naming_it(tight: Live) -> None:
    fed = tight.fresh("no-reader")
    bad = pb.ClientMessage(protocol_version=PROTOCOL_VERSION, request_id=7, step=pb.Step(federate=99))
    flood = msg(0, batch=pb.Batch(messages=[bad] * 4096))  # 4096 error replies, some 0.5 MB
    stop = threading.Event()

    def requests() -> Iterator[bytes]:
        yield hello(fed)
        yield msg(2, join=pb.Join(federate_name="deaf"))
        for _ in range(200):  # far beyond what the transport buffers for a reader that never comes
            if stop.wait(0.01):
                break
            yield flood
        stop.wait(20)

    call = tight.raw(requests(), timeout=30)  # never iterated while it floods
    try:
        deadline = time.monotonic() + 20
        while (status := inspect(tight, fed)).state == "running":
            assert time.monotonic() < deadline, "the server queues replies for a host that never reads"
            time.sleep(0.1)
        assert status.state == "failed", status
        assert "'deaf'" in status.error and "does not read its stream" in status.error, status.error
        stop.set()
        with pytest.raises(grpc.RpcError) as info:
            for _ in call:
                pass
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, info.value
        assert "64 messages to it are queued unread" in (info.value.details() or "")
    finally:
        stop.set()
        call.cancel()
    assert tight.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    assert not tight.crashes.records, [r.getMessage() for r in tight.crashes.records]


def test_callbacks_are_split_below_the_size_bound_in_order_with_the_grant_last(
        tight: Live, baseline: dict[str, list[cb.Callback]]) -> None:
    fed = tight.fresh("split")
    D, ET, TR = pb.Declare, pb.EnableTime, pb.TimeRequest
    updates = [update(0, [0], [float(k)], timestamp=5 + k) for k in range(40)]
    out = session(tight, [
        *joined_publisher(fed, lookahead=1), msg(6, join=pb.Join(federate_name="b")),
        msg(7, declare=D(federate=2, kind=D.SUBSCRIBE_OBJECT, class_name="Ball", members=["x", "v"])),
        msg(8, enable_time=ET(federate=2, constrained=True)),
        msg(9, step=pb.Step(federate=2, request=TR(kind=TR.TAR, time=10_000))),
        *updates, msg(10, step=pb.Step(federate=1, request=TR(kind=TR.TAR, time=20_000))), resign(11), resign(12, 2)])
    assert out.code == OK, out.details
    mine = [r.callbacks for r in out.replies if r.WhichOneof("body") == "callbacks" and r.callbacks.federate == 2]
    items = [c for m in mine for c in m.items if c.WhichOneof("body") in ("reflect", "grant")]
    assert [c.reflect.values[0] for c in items[:-1]] == [float(k) for k in range(40)]
    assert items[-1].grant == 10_000
    assert len(mine) > 10, "one Callbacks message for everything"
    for m in mine:
        assert len(m.items) == 1 or sum(c.ByteSize() + 6 for c in m.items) <= TIGHT.max_callbacks_bytes, m
    # The real client takes a grant and its reflection from separate messages just the same.
    assert run_healthy(tight.target, tight.fresh("split-healthy"), STEPS) == baseline


def test_a_finished_or_failed_federation_is_replaced_by_a_new_one_of_its_name(live: Live, healthy: str) -> None:
    fed = live.fresh("rerun")
    out = session(live, [hello(fed), msg(2, join=pb.Join(federate_name="a")), resign(3)])
    assert out.code == OK and inspect(live, fed).state == "finished"
    create(live.admin, fed)  # at once, no ALREADY_EXISTS
    assert inspect(live, fed).state == "running"
    with pytest.raises(grpc.RpcError) as info:
        create(live.admin, fed)  # a running federation is never replaced
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    # A failed one, with a session still open on it: that session is told why it ends.
    lingering = session_in_background(live, [hello(fed, site="watcher")])
    session(live, [hello(fed), msg(2, join=pb.Join(federate_name="a"))])  # stream ends: 'a' fails the federation
    assert inspect(live, fed).state == "failed"
    create(live.admin, fed)
    out = lingering()
    out.closed(grpc.StatusCode.ABORTED, repr(fed), "(failed) was replaced by a new one")
    assert inspect(live, fed).state == "running"
    live.admin.DestroyFederation(pb.FederationRef(name=fed), timeout=5)


def session_in_background(live: Live, messages: list[bytes], hold: float = 10.0) -> Any:
    """A session that sends `messages` then stays open up to `hold` s; call the result for its Outcome."""
    done: dict[str, Outcome] = {}
    first = threading.Event()

    def requests() -> Iterator[bytes]:
        yield from messages
        first.wait(hold)

    def run() -> None:
        done["out"] = session(live, requests(), timeout=hold + 5)  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)  # its messages are in

    def outcome() -> Outcome:
        thread.join(hold + 10)
        first.set()
        return done["out"]

    return outcome


def test_finished_federations_are_reaped_and_silent_sessions_closed(tight: Live) -> None:
    fed = tight.fresh("reaped")
    out = session(tight, [hello(fed), msg(2, join=pb.Join(federate_name="a")), resign(3)])
    assert out.code == OK and inspect(tight, fed).state == "finished"
    time.sleep(TIGHT.reap_after + 1.0)
    with pytest.raises(grpc.RpcError) as info:
        inspect(tight, fed)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert fed not in tight.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names
    # A session that never says hello (heartbeats are no hello) is closed after the hello timeout.
    started = time.monotonic()
    out = session_in_background(tight, [msg(0, heartbeat=pb.Heartbeat())])()
    out.closed(grpc.StatusCode.FAILED_PRECONDITION, f"no hello within {TIGHT.hello_timeout:g} s")
    assert time.monotonic() - started < 5


def test_a_silent_session_with_no_federate_is_closed_and_fails_nobody(live: Live, healthy: str) -> None:
    fed = live.fresh("idle-session")
    started = time.monotonic()
    out = session_in_background(live, [hello(fed, site="idle")])()
    out.closed(grpc.StatusCode.UNAVAILABLE, "no message or heartbeat for", "no federate joined")
    assert time.monotonic() - started < 5.0 + 3  # the `live` server's heartbeat timeout, and some slack
    assert inspect(live, fed).state == "running"


def test_destroy_ends_the_sessions_of_the_federation_naming_why(live: Live, healthy: str) -> None:
    fed = live.fresh("destroyed")
    waiting = session_in_background(live, [hello(fed, site="early")])
    live.admin.DestroyFederation(pb.FederationRef(name=fed), timeout=5)
    waiting().closed(grpc.StatusCode.ABORTED, f"federation execution {fed!r} was destroyed by site ''")


def test_create_refuses_bad_names_and_duplicate_classes_naming_them(live: Live, healthy: str) -> None:
    limit = Limits().max_name_length

    def refused(name: str, fom: Any, *words: str) -> None:
        with pytest.raises(grpc.RpcError) as info:
            live.admin.CreateFederation(pb.CreateFederationRequest(
                protocol_version=PROTOCOL_VERSION, name=name, fom=fom), timeout=5)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
        for w in words:
            assert w in info.value.details(), (w, info.value.details())

    good = fom_to_pb(FOM_SPEC)
    C = pb.ClassSpec
    refused("", good, "federation name is empty")
    refused("two\nlines", good, "federation name 'two\\nlines'", "unprintable character '\\n'")
    refused("nul\x00", good, "unprintable character '\\x00'")
    refused("x" * (limit + 1), good, f"{limit + 1} characters long", f"limit of {limit}")
    refused("dup-class", pb.FOMSpec(object_classes=[C(name="Ball", members=["x"]), C(name="Ball", members=["v"])]),
            "object class 'Ball' is defined twice")
    refused("dup-interaction", pb.FOMSpec(interaction_classes=[C(name="Kick"), C(name="Kick")]),
            "interaction class 'Kick' is defined twice")
    refused("empty-class", pb.FOMSpec(object_classes=[C(name="", members=["x"])]), "object class is empty")
    refused("bad-member", pb.FOMSpec(object_classes=[C(name="Ball", members=["x\ty"])]),
            "member of object class 'Ball'", "'x\\ty'")
    refused("long-member", pb.FOMSpec(interaction_classes=[C(name="Kick", members=["f" * (limit + 1)])]),
            "member of interaction class 'Kick'", f"limit of {limit}")
    listed = set(live.admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names)
    assert not listed & {"", "two\nlines", "dup-class", "dup-interaction", "empty-class", "bad-member", "long-member"}
    name = "grid-furnace.v2 (Ω)" + "n" * (limit - 19)  # at the limit, non-ASCII and spaces: fine
    assert len(name) == limit
    create(live.admin, name)
    live.admin.DestroyFederation(pb.FederationRef(name=name), timeout=5)
