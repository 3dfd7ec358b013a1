"""One start(ServerConfig) for `federation rti serve` and the launchers: a server that listens, reports
what it serves in plain values, and stops with its audit log closed; a bad configuration is refused
before anything listens, naming the option at fault."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_to_pb
from federation.rti import FOM
from federation.server import (Limits, ServerConfig, ServerStartError, StatusReader, Unreachable, start,
                               write_ready_file)


@pytest.mark.parametrize("gate", [True, False])
def test_start_serves_reports_status_and_stops_closing_its_audit_log(gate: bool, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    handle = start(ServerConfig(listen="127.0.0.1:0", limits=Limits(grant_timeout=2.5), audit=audit, gate=gate))
    try:
        assert handle.port > 0 and handle.address == f"127.0.0.1:{handle.port}"
        with grpc.insecure_channel(handle.address) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            pb_grpc.AdminStub(channel).CreateFederation(pb.CreateFederationRequest(
                protocol_version=PROTOCOL_VERSION, name="fed", fom=fom_to_pb(FOM({"Ball": ["x"]}, {}))), timeout=5)
        reader = StatusReader(handle.address, None, "coordinator")
        try:
            [status] = reader.read()
            assert (status.name, status.state, status.federates, status.failure) == ("fed", "running", [], None)
            assert reader.read("fed") == [status]
            with pytest.raises(Unreachable) as missing:
                reader.read("nope")
            assert missing.value.code == "NOT_FOUND" and "'nope'" in missing.value.details
        finally:
            reader.close()
        ready = tmp_path / "ready.json"
        write_ready_file(ready, handle)
        said = json.loads(ready.read_text())
        assert said["listen"] == handle.address and said["port"] == handle.port and isinstance(said["pid"], int)
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ready")] == []  # no temporary file left
    finally:
        handle.stop(grace=0).wait(30)
    assert handle.closers == []  # the audit log was closed with the server
    assert [json.loads(line)["event"] for line in audit.read_text().splitlines()][:1] == ["create"]


def test_status_of_an_rti_that_is_not_there_is_unreachable() -> None:
    reader = StatusReader("127.0.0.1:1", None, "coordinator", timeout=2)
    try:
        with pytest.raises(Unreachable) as gone:
            reader.read()
        assert gone.value.code == "UNAVAILABLE"
    finally:
        reader.close()


@pytest.mark.parametrize("listen, words", [
    ("127.0.0.1", "--listen expects HOST:PORT"),
    ("127.0.0.1:70000", "--listen expects HOST:PORT"),
    ("0.0.0.0:0", "refusing to listen on 0.0.0.0 without TLS"),
])
def test_a_bad_listen_address_is_refused_before_anything_opens(listen: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(ServerStartError, match=words):
        start(ServerConfig(listen=listen, audit=tmp_path / "audit.jsonl"))
    assert not (tmp_path / "audit.jsonl").exists()


def test_a_bad_policy_file_is_refused_naming_it(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("sites: [unclosed\n")
    with pytest.raises(ServerStartError, match="policy.yaml"):
        start(ServerConfig(listen="127.0.0.1:0", policy=policy, audit=tmp_path / "audit.jsonl"))
    assert not (tmp_path / "audit.jsonl").exists()
