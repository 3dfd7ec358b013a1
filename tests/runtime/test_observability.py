"""OpenTelemetry spans and metrics across processes, and `federation rti status`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_to_pb
from federation.rti import FOM
from federation.transport.grpc import GrpcTransport, RTIConnection
from federation.server.serving import serve

import grpc

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def spans(folder: Path) -> list[dict]:
    out = []
    for f in folder.glob("*-spans.jsonl"):
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def metric_names(folder: Path) -> set[str]:
    names = set()
    for f in folder.glob("*-metrics.jsonl"):
        for line in f.read_text().splitlines():
            for rm in json.loads(line)["resource_metrics"]:
                for sm in rm["scope_metrics"]:
                    names |= {m["name"] for m in sm["metrics"]}
    return names


def test_grpc_run_traces_one_run_across_processes(fmu_dist: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "federation.cli", "run", str(FLAGSHIP), "--mode", "grpc",
                           "--stop", "1800", "--out", str(tmp_path), "--no-plot"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    all_spans = spans(tmp_path / "telemetry")
    traces = {s["context"]["trace_id"] for s in all_spans}
    assert len(traces) == 1  # run, RTI and every host share one trace
    by_name: dict[str, list[dict]] = {}
    for s in all_spans:
        by_name.setdefault(s["name"], []).append(s)
    (run,) = by_name["federation.runtime"]
    assert {s["attributes"]["site"] for s in by_name["federation.host"]} == {"utility", "furnace_maker", "carmaker", "operator"}
    joined = {s["attributes"]["federate"] for s in by_name["rti.join"]}
    assert joined == {"grid", "furnace", "vehicle", "ems", "$recorder"}
    # join spans on the RTI are children of the joining host's span, found through gRPC metadata
    host_ids = {s["context"]["span_id"] for s in by_name["federation.host"]}
    assert {s["parent_id"] for s in by_name["rti.join"] if s["attributes"]["federate"] != "$recorder"} <= host_ids
    assert all(s["parent_id"] == run["context"]["span_id"] for s in by_name["federation.host"])
    rounds = [s for s in by_name["time-advance"] if s["attributes"]["federate"] == "grid"]
    assert 10 <= len(rounds) <= 1800 // 100 + 1  # sampled, not one per step
    assert {"federation.grant_latency", "federation.steps", "federation.steps_per_second",
            "federation.messages", "federation.bytes"} <= metric_names(tmp_path / "telemetry")


def test_rti_status_shows_federates_and_their_times() -> None:
    server, port, service = serve("127.0.0.1:0")
    try:
        target = f"127.0.0.1:{port}"
        with grpc.insecure_channel(target) as ch:
            pb_grpc.AdminStub(ch).CreateFederation(pb.CreateFederationRequest(
                protocol_version=PROTOCOL_VERSION, name="watched", fom=fom_to_pb(FOM({"A": ["y"]}))))
        conn = RTIConnection(target, "watched", "site-a")
        tr = GrpcTransport(conn)
        h = tr.join("alpha")
        tr.enable_time_constrained(h)
        tr.time_advance_request(h, 7_000_000_000)
        conn.take_ready(5.0)
        proc = subprocess.run([sys.executable, "-m", "federation.cli", "rti", "status", "--rti", target, "--once"],
                              capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": ""})
        assert proc.returncode == 0, proc.stderr
        assert "watched" in proc.stdout and "alpha" in proc.stdout and "site-a" in proc.stdout
        assert "7" in proc.stdout.split("alpha", 1)[1]
        conn.close()
    finally:
        service.stop()
        server.stop(0)
