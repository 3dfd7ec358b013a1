"""Hostile clients against an RTI with mutual TLS, a policy and an audit log, while a healthy federation steps.

Each case reuses tests/server/test_grpc_protocol.py's harness: a producer/consumer federation
(sites site-a and site-b, over mTLS here) steps in the background and must see exactly the
callbacks of an undisturbed run; the attacker must get a precise refusal. The RTI serves behind
its connection gate, as `rti serve` does: every case also shows that the gate changes nothing
of TLS, certificates, the policy or the audit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import shutil
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2_grpc

from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_to_pb
from federation.rti import callbacks as cb
from federation.transport.grpc import RTIConnection
from federation.server.limits import Limits
from federation.server.serving import serve
from federation.security.audit import AuditLog, verify
from federation.security.certs import SiteCredentials, init_ca, issue_site
from federation.security.guard import Guard
from federation.security.policy import Policy
from federation.security.tls import SITE_METADATA, channel_credentials, server_credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
import test_grpc_protocol as proto  # noqa: E402  (the protocol tests' harness, reused)
from test_grpc_protocol import FOM_SPEC, MAX_BYTES, Live, hello, msg, resign, session  # noqa: E402

SITES = ["site-a", "site-b", "mallory", "operator"]
POLICY = Policy.model_validate({"federations": {"secret-*": {
    "create": ["operator"], "admin": ["operator"], "join": {"site-a": ["producer"]},
}, "*": {
    "create": ["operator"], "admin": ["operator"],
    "join": {"site-a": ["producer", "spare"], "site-b": ["consumer"], "mallory": ["mallory"]},
    "publish": {"producer": {"Ball": ["x", "v"]}, "mallory": {"Ball": ["x"]}},
    "subscribe": {"consumer": {"Ball": ["x", "v"]}},
}}})
SESSION = "/federation.v1.RTI/Session"


@dataclass
class Secure(Live):
    """The protocol tests' live server, plus where its certificates and audit log are."""

    certs_root: Path
    audit_path: Path


def channel(target: str, certs: Path, site: str) -> grpc.Channel:
    return grpc.secure_channel(target, channel_credentials(SiteCredentials.load(certs, site)))


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    tmp = tmp_path_factory.mktemp("hostile")
    certs = init_ca(tmp / "certs", "hostile", SITES)
    audit = AuditLog(tmp / "audit.jsonl")
    server, port, service = serve("127.0.0.1:0", Limits(max_message_bytes=MAX_BYTES, heartbeat_timeout=5.0,
                                                        grant_timeout=8.0),
                                  server_credentials(certs.root), guard=Guard(POLICY, audit, tls=True), gate=True)
    target = f"127.0.0.1:{port}"
    crashes = proto._Crashes()
    watched = [logging.getLogger("federation.server.service"), logging.getLogger("grpc")]
    for lg in watched:
        lg.addHandler(crashes)
    operator, mallory = channel(target, certs.root, "operator"), channel(target, certs.root, "mallory")
    grpc.channel_ready_future(operator).result(timeout=10)

    def tls_connection(target: str, federation: str, site: str, **kw: Any) -> RTIConnection:
        creds = channel_credentials(SiteCredentials.load(certs.root, site))
        return RTIConnection(target, federation, site, credentials=creds, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(proto, "RTIConnection", tls_connection)  # the healthy federation over mTLS
        live = Secure(target, operator, pb_grpc.AdminStub(operator), health_pb2_grpc.HealthStub(operator),
                      mallory.stream_stream(SESSION), crashes, itertools.count(1), certs.root, tmp / "audit.jsonl")
        try:
            yield live
        finally:
            for lg in watched:
                lg.removeHandler(crashes)
            operator.close()
            mallory.close()
            service.stop()
            server.stop(0)
            audit.close()


@pytest.fixture(scope="module")
def baseline(secure: Secure) -> tuple[str, dict[str, list[cb.Callback]]]:
    name = secure.fresh("baseline")
    logs = proto.run_healthy(secure.target, name, proto.STEPS)
    assert sum(isinstance(c, cb.TimeAdvanceGrant) for c in logs["consumer"]) == proto.STEPS
    return name, logs


@pytest.fixture
def healthy(secure: Secure, baseline: tuple[str, dict[str, list[cb.Callback]]]) -> Iterator[str]:
    with proto.healthy_running(secure, baseline[1]) as name:
        yield name


def as_site(live: Secure, site: str) -> Secure:
    """The same server, the raw session opened with `site`'s certificate."""
    return replace(live, raw=channel(live.target, live.certs_root, site).stream_stream(SESSION))


def refused_at_handshake(ch: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as info:
        list(ch.stream_stream(SESSION)(iter([hello("anything")]), timeout=5))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value
    with pytest.raises(grpc.RpcError) as info:
        pb_grpc.AdminStub(ch).ListFederations(pb.ListFederationsRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE, info.value
    ch.close()


# --------------------------------------------------------------------------------------------- transport
def test_client_without_certificate_is_refused(secure: Secure, healthy: str) -> None:
    ca = (secure.certs_root / "ca.pem").read_bytes()
    refused_at_handshake(grpc.secure_channel(secure.target, grpc.ssl_channel_credentials(root_certificates=ca)))
    refused_at_handshake(grpc.insecure_channel(secure.target))


def test_certificate_from_another_ca_is_refused(secure: Secure, healthy: str, tmp_path: Path) -> None:
    other = init_ca(tmp_path / "other", "hostile", ["site-a"])  # same names, another authority
    ca = (secure.certs_root / "ca.pem").read_bytes()
    creds = grpc.ssl_channel_credentials(ca, other.site_key("site-a").read_bytes(), other.site_cert("site-a").read_bytes())
    refused_at_handshake(grpc.secure_channel(secure.target, creds))


def test_expired_certificate_is_refused(secure: Secure, healthy: str, tmp_path: Path) -> None:
    ca_copy = tmp_path / "ca"
    ca_copy.mkdir()
    for name in ("ca.pem", "ca.key"):
        shutil.copy(secure.certs_root / name, ca_copy / name)
    ten_days_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    issue_site(ca_copy, "site-a", valid_for=dt.timedelta(days=1), not_before=ten_days_ago)
    refused_at_handshake(channel(secure.target, ca_copy, "site-a"))
    for old in ("site-a.pem", "site-a.key"):  # a certificate is never overwritten: a site's is deleted first
        (ca_copy / "sites" / old).unlink()
    issue_site(ca_copy, "site-a")  # the same CA, in date: accepted, so the date was the only reason
    ok = channel(secure.target, ca_copy, "site-a")
    assert pb_grpc.AdminStub(ok).ListFederations(pb.ListFederationsRequest(), timeout=5).names == []
    ok.close()


def test_oversized_message_over_tls(secure: Secure, healthy: str) -> None:
    big = msg(1, hello=pb.Hello(federation="f" * (MAX_BYTES + 100), site="mallory"))
    session(secure, [big]).closed(grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max", str(MAX_BYTES))


# ------------------------------------------------------------------------------------------- impersonation
def test_hello_claiming_another_site_aborts_the_session(secure: Secure, healthy: str) -> None:
    out = session(secure, [hello(healthy, site="site-a"), msg(2, join=pb.Join(federate_name="producer"))])
    out.closed(grpc.StatusCode.PERMISSION_DENIED, "claims site 'site-a'", "certificate is for site 'mallory'")
    assert out.replies == []


def test_joining_as_another_sites_federate_is_denied(secure: Secure, healthy: str) -> None:
    out = session(secure, [hello(healthy, site="mallory"), msg(2, join=pb.Join(federate_name="producer")),
                           msg(3, join=pb.Join(federate_name="consumer"))])
    assert out.code == proto.OK, out.details
    out.error(2, "PermissionDenied", "federations.*.join.mallory", "may join as ['mallory'], not as 'producer'")
    out.error(3, "PermissionDenied", "not as 'consumer'")
    fed = secure.fresh("own")
    out = session(secure, [hello(fed, site="mallory"), msg(2, join=pb.Join(federate_name="producer")),
                           msg(3, join=pb.Join(federate_name="mallory")), resign(4)])
    assert out.code == proto.OK, out.details
    out.error(2, "PermissionDenied", "not as 'producer'")
    assert out.reply(3).joined.federate == 1  # the session is still good for what it may do
    assert out.reply(4).WhichOneof("body") == "ack"


def test_declarations_outside_the_policy_are_denied(secure: Secure, healthy: str) -> None:
    fed = secure.fresh("declare")

    def declare(rid: int, kind: int, cls: str, members: list[str] | None = None) -> bytes:
        return msg(rid, declare=pb.Declare(federate=1, kind=kind, class_name=cls, members=members or []))

    D = pb.Declare
    out = session(secure, [hello(fed, site="mallory"), msg(2, join=pb.Join(federate_name="mallory")),
                           declare(3, D.SUBSCRIBE_OBJECT, "Ball", ["x"]), declare(4, D.PUBLISH_OBJECT, "Ball", ["x", "v"]),
                           declare(5, D.SUBSCRIBE_INTERACTION, "Kick"), declare(6, D.PUBLISH_INTERACTION, "Kick"),
                           declare(7, D.PUBLISH_OBJECT, "Ball", ["x"]), resign(8)])
    assert out.code == proto.OK, out.details
    out.error(3, "PermissionDenied", "rule federations.*.subscribe.mallory.Ball", "may not subscribe Ball.{x}")
    out.error(4, "PermissionDenied", "rule federations.*.publish.mallory.Ball", "Ball.{v}", "allowed: ['x']")
    out.error(5, "PermissionDenied", "federations.*.subscribe_interactions.mallory", "'Kick'")
    out.error(6, "PermissionDenied", "federations.*.publish_interactions.mallory")
    assert out.reply(7).WhichOneof("body") == "ack"


def test_admin_calls_need_the_admin_rule(secure: Secure, healthy: str) -> None:
    mallory = channel(secure.target, secure.certs_root, "mallory")
    admin = pb_grpc.AdminStub(mallory)
    assert list(admin.ListFederations(pb.ListFederationsRequest(), timeout=5).names) == []  # sees nothing
    calls = {
        "inspect": lambda: admin.InspectFederation(pb.FederationRef(name=healthy), timeout=5),
        "destroy": lambda: admin.DestroyFederation(pb.FederationRef(name=healthy), timeout=5),
        "create": lambda: admin.CreateFederation(pb.CreateFederationRequest(
            protocol_version=PROTOCOL_VERSION, name="mine", fom=fom_to_pb(FOM_SPEC)), timeout=5),
        "inspect a federation that does not exist": lambda: admin.InspectFederation(
            pb.FederationRef(name="nope"), timeout=5),  # no existence oracle either
    }
    for what, call in calls.items():
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED, (what, info.value)
        rule = "create" if what == "create" else "admin"
        assert f"federations.*.{rule}" in info.value.details() and "'mallory'" in info.value.details(), what
    mallory.close()


def test_hello_needs_a_right_in_the_federation_and_tells_no_one_else_whether_it_exists(
        secure: Secure, healthy: str) -> None:
    secret = secure.fresh("secret")  # mallory holds no right in secret-*: neither join, admin nor create
    answers = []
    for name in (secret, "secret-nope"):
        out = session(secure, [hello(name, site="mallory"), msg(2, join=pb.Join(federate_name="mallory"))])
        out.closed(grpc.StatusCode.PERMISSION_DENIED, "rule federations.secret-*", "'mallory' holds no right",
                   repr(name))
        assert out.replies == []  # no Welcome, so no FOM
        answers.append(out.details.replace(name, "<name>"))
    assert answers[0] == answers[1]  # no existence oracle
    # A site with a right learns what it asks: site-a may join, operator may administer.
    site_a = as_site(secure, "site-a")
    session(site_a, [hello("secret-nope", site="site-a")]).closed(grpc.StatusCode.NOT_FOUND, "does not exist")
    assert session(site_a, [hello(secret, site="site-a")]).reply(1).WhichOneof("body") == "welcome"
    operator = as_site(secure, "operator")
    assert session(operator, [hello(secret, site="operator")]).reply(1).WhichOneof("body") == "welcome"
    denied = [json.loads(line) for line in secure.audit_path.read_text().splitlines()]
    assert any(e["event"] == "denied" and e["request"] == "hello" and e["federation"] == secret for e in denied)


# ------------------------------------------------------------------------------------------------- replays
def test_replayed_session_after_resign_is_refused(secure: Secure, healthy: str,
                                                  baseline: tuple[str, dict[str, list[cb.Callback]]]) -> None:
    site_a = as_site(secure, "site-a")
    fed = secure.fresh("replay")
    # 'spare' (handle 1) keeps the federation open; 'producer' (handle 2) resigns, then its handle is replayed.
    step = msg(4, step=pb.Step(federate=2, updates=[pb.AttributeUpdate(object=1, attributes=[0], values=[6.0])]))
    out = session(site_a, [hello(fed, site="site-a"), msg(2, join=pb.Join(federate_name="spare")),
                           msg(8, join=pb.Join(federate_name="producer")), resign(3, 2),
                           step, resign(5, 2), resign(6)])
    assert out.code == proto.OK, out.details
    out.error(4, "FederateNotExecutionMember", "handle 2")
    out.error(5, "FederateNotExecutionMember", "handle 2")
    assert out.reply(6).WhichOneof("body") == "ack"
    # Re-joining a federation that has finished its run, with a legitimate certificate: refused.
    out = session(site_a, [hello(baseline[0], site="site-a"), msg(2, join=pb.Join(federate_name="producer"))])
    assert out.reply(2).WhichOneof("body") == "failed" and out.reply(2).failed.reason == "finished"


# ---------------------------------------------------------------------------------------------------- audit
def test_every_denial_is_audited_in_an_intact_chain(secure: Secure) -> None:
    path: Path = secure.audit_path
    assert verify(path).seq > 0
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    denied = [e for e in entries if e["event"] == "denied"]
    rules = {e["rule"] for e in denied}
    assert {"certificate", "federations.*.join.mallory", "federations.*.subscribe.mallory.Ball",
            "federations.*.admin", "federations.*.create"} <= rules, rules
    assert all(e["site"] == "mallory" for e in denied)
    assert {"create", "join", "declare", "resign"} <= {e["event"] for e in entries}
    assert not any("values" in e or "value" in e for e in entries)


# ------------------------------------------------------------------------------------------- insecure mode
def test_insecure_mode_takes_the_claimed_identity_and_still_enforces_the_policy() -> None:
    server, port, service = serve("127.0.0.1:0", guard=Guard(POLICY, None, tls=False))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            admin = pb_grpc.AdminStub(ch)
            request = pb.CreateFederationRequest(protocol_version=PROTOCOL_VERSION, name="f", fom=fom_to_pb(FOM_SPEC))
            with pytest.raises(grpc.RpcError) as info:
                admin.CreateFederation(request, timeout=5)  # no identity at all
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED and "site ''" in info.value.details()
            admin.CreateFederation(request, timeout=5, metadata=((SITE_METADATA, "operator"),))
            out = list(ch.stream_stream(SESSION)(iter([hello("f", site="mallory"),
                                                       msg(2, join=pb.Join(federate_name="producer"))]), timeout=5))
            replies = [pb.ServerMessage.FromString(b) for b in out]
            assert replies[1].error.type == "PermissionDenied" and "join.mallory" in replies[1].error.message
    finally:
        service.stop()
        server.stop(0)


# ------------------------------------------------------------- cheap attacks below the policy layer
def test_idle_half_open_connections_are_dropped_and_starve_nobody(secure: Secure, healthy: str) -> None:
    """Hundreds of TCP connections from one address that never start TLS: the healthy federation steps
    on undisturbed (the `healthy` fixture checks its callbacks), admin calls answer, and the RTI drops
    them all (tests/server/test_gate.py: beyond the address's cap at once, the others when silent)."""
    host, port = secure.target.rsplit(":", 1)
    idle = []
    for _ in range(300):
        s = socket.socket()
        idle.append(s)
        s.settimeout(5)
        s.bind(("127.0.0.2", 0))
        try:
            s.connect((host, int(port)))
        except ConnectionResetError:
            pass  # refused before connect() returned
    try:
        started = time.monotonic()
        assert secure.admin.ListFederations(pb.ListFederationsRequest(), timeout=5) is not None
        for s in idle:
            s.settimeout(max(0.1, started + 10 - time.monotonic()))
            try:
                assert s.recv(1) == b"", "an idle connection got data"
            except socket.timeout:
                pytest.fail("an idle connection was kept past 10 s")
            except OSError:
                pass  # reset, or reset before connect() returned
        assert time.monotonic() - started < 10
    finally:
        for s in idle:
            s.close()


def test_refused_sessions_are_logged_once_per_address_and_bounded(secure: Secure, healthy: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    big = b"\x0a" + b"\xff" * 50_000  # a malformed frame whose echo would be large
    with caplog.at_level(logging.WARNING, logger="federation.server.service"):
        for _ in range(40):
            proto.session(secure, [big]).closed(grpc.StatusCode.INVALID_ARGUMENT, "malformed ClientMessage")
    lines = [r.getMessage() for r in caplog.records if r.name == "federation.server.service"]
    assert len(lines) <= 1, lines  # the fixture's earlier refusals may already have used this minute's line
    assert all(len(line) < 4096 and "127.0.0.1" in line for line in lines), lines


@contextmanager
def from_address(target: str, source: str) -> Iterator[str]:
    """A plain TCP forwarder on 127.0.0.1 whose connections reach `target` from `source` (gRPC's Python
    client cannot choose its source address); yields the address to dial instead of `target`."""
    listener = socket.create_server(("127.0.0.1", 0))
    host, port = target.rsplit(":", 1)
    pairs: list[socket.socket] = []

    def pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed
            server = socket.create_connection((host, int(port)), timeout=5, source_address=(source, 0))
            server.settimeout(None)
            pairs.extend((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for s in pairs:
            s.close()


def test_the_rti_names_the_clients_own_address_behind_its_gate(secure: Secure, healthy: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """gRPC sees every connection come from the gate's loopback port; the log and the audit still
    name the client's address (here 127.0.0.3)."""
    with from_address(secure.target, "127.0.0.3") as target, caplog.at_level(logging.WARNING):
        mallory = channel(target, secure.certs_root, "mallory")
        out = session(replace(secure, raw=mallory.stream_stream(SESSION)), [hello(healthy, site="site-b")])
        mallory.close()
    out.closed(grpc.StatusCode.PERMISSION_DENIED, "claims site 'site-b'", "certificate is for site 'mallory'")
    logged = sorted(r.getMessage() for r in caplog.records if "claims site 'site-b'" in r.getMessage())
    assert [line.split(":")[0] for line in logged] == ["denied session from ipv4", "refused 127.0.0.3"], logged
    assert logged[0].startswith("denied session from ipv4:127.0.0.3:"), logged
    entries = [json.loads(line) for line in secure.audit_path.read_text().splitlines()]
    denied = [e for e in entries if e["event"] == "denied" and "'site-b'" in e.get("reason", "")]
    assert [e["peer"].rsplit(":", 1)[0] for e in denied] == ["ipv4:127.0.0.3"], denied
