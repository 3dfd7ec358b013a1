"""`federation rti serve --ready-file` says, machine-readably, where it listens; `rti status` reads it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import grpc

from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_to_pb
from federation.rti import FOM

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "federation.cli"]


def test_rti_serve_writes_its_ready_file_once_listening_and_rti_status_reads_the_server(tmp_path: Path) -> None:
    ready = tmp_path / "rti.ready.json"
    proc = subprocess.Popen([*CLI, "rti", "serve", "--listen", "127.0.0.1:0", "--ready-file", str(ready),
                             "--audit", str(tmp_path / "audit.jsonl")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        said = json.loads(ready.read_text())
        assert set(said) == {"listen", "port", "pid"} and said["pid"] == proc.pid
        assert said["listen"] == f"127.0.0.1:{said['port']}" and said["port"] > 0
        assert proc.stdout is not None and proc.stdout.readline().strip() == f"RTI listening on {said['listen']}"
        with grpc.insecure_channel(said["listen"]) as channel:
            pb_grpc.AdminStub(channel).CreateFederation(pb.CreateFederationRequest(
                protocol_version=PROTOCOL_VERSION, name="shown", fom=fom_to_pb(FOM({"Ball": ["x"]}, {}))), timeout=5)
        status = subprocess.run([*CLI, "rti", "status", "--once", "--rti", said["listen"]], capture_output=True,
                                text=True, cwd=ROOT, timeout=60, env={**os.environ, "COLUMNS": "200"})
        assert status.returncode == 0, status.stderr
        assert "heartbeat age" in status.stdout and re.search(r"shown\s*│\s*running", status.stdout), status.stdout
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".rti.ready")]  # no temporary file left


def test_rti_serve_exits_2_when_its_ready_file_cannot_be_written(tmp_path: Path) -> None:
    proc = subprocess.run([*CLI, "rti", "serve", "--listen", "127.0.0.1:0", "--ready-file",
                           str(tmp_path / "missing" / "ready.json"), "--audit", str(tmp_path / "audit.jsonl")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "--ready-file" in proc.stderr and "missing" in proc.stderr, proc.stderr


def test_rti_status_of_an_rti_that_is_not_there_exits_1_naming_it() -> None:
    proc = subprocess.run([*CLI, "rti", "status", "--once", "--rti", "127.0.0.1:1"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and "cannot reach the RTI at 127.0.0.1:1: UNAVAILABLE" in said, proc.stderr
