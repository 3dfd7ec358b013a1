"""docs/deploy.md, run as written: a standalone RTI, the coordinator and three owners' hosts, each its own process."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
CLI = [sys.executable, "-m", "federation.cli"]
DOC_RTI = "127.0.0.1:50051"


def documented_commands() -> list[str]:
    """The `federation` lines of the walk-through's code blocks, in order (continuation lines joined)."""
    text = DOC.read_text()
    walkthrough = text.split("<!-- walkthrough", 1)[1].split("<!-- /walkthrough -->", 1)[0]
    commands = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", walkthrough, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("federation "):
                commands.append(line)
    return commands


def free_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


class Processes:
    """Every process the test starts, each in its own session: all are stopped and reaped at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.out", "wb") as out, open(self.folder / f"{name}.err", "wb") as err:
            proc = subprocess.Popen(CLI + args, cwd=self.folder, stdout=out, stderr=err, start_new_session=True)
        self.started.append((name, proc))
        return proc

    def said(self, name: str) -> str:
        return " ".join(((self.folder / f"{name}.out").read_text() + (self.folder / f"{name}.err").read_text()).split())

    def wait(self, name: str, proc: subprocess.Popen[bytes], timeout: float) -> int:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`{name}` did not end within {timeout:g} s: {self.said(name)}")

    def stop_all(self) -> None:
        for _, proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc in self.started:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the whole session: a child it started (an FMU binary check) goes too
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()


def wait_for_line(path: Path, prefix: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and any(line.startswith(prefix) for line in path.read_text().splitlines()):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"no {prefix!r} in {path}: {path.read_text() if path.exists() else ''}")


@pytest.mark.slow
def test_the_documented_deployment_gives_the_bytes_of_embedded_mode(fmu_dist: Path, tmp_path: Path) -> None:
    commands = documented_commands()
    starts = [" ".join(c.split()[:3]) for c in commands]
    assert sum(s.startswith("federation host ") for s in starts) == 3, commands
    assert "federation rti serve" in starts and any(s.startswith("federation coordinate ") for s in starts), commands
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the walk-through runs in the repository's root
    address = free_address()
    procs = Processes(tmp_path)
    rti: subprocess.Popen[bytes] | None = None
    running: dict[str, subprocess.Popen[bytes]] = {}  # the coordinator and the hosts
    try:
        for number, command in enumerate(commands):
            args = shlex.split(command.replace(DOC_RTI, address))[1:]
            name = f"{number}-{args[0]}"
            if args[:2] == ["rti", "serve"]:
                rti = procs.start(name, args)
                wait_for_line(tmp_path / f"{name}.out", "RTI listening on ", rti)
            elif args[0] in ("coordinate", "host"):
                running[name] = procs.start(name, args)
            else:
                for other, proc in running.items():  # what follows the deployment waits for its end
                    assert procs.wait(other, proc, 120) == 0, procs.said(other)
                    assert ("completed 3600 s" if "coordinate" in other else ": done (") in procs.said(other)
                assert procs.wait(name, procs.start(name, args), 120) == 0, f"`{command}` failed: {procs.said(name)}"
                if args[:2] == ["audit", "verify"]:
                    assert re.search(r": OK \(\d+ entries\)", procs.said(name)), procs.said(name)
        assert rti is not None and rti.poll() is None, "the RTI should serve until stopped"
    finally:
        procs.stop_all()
    results, embedded = tmp_path / "deploy" / "results", tmp_path / "deploy" / "embedded"
    assert (embedded / "results.csv").stat().st_size > 1000
    assert (results / "results.csv").read_bytes() == (embedded / "results.csv").read_bytes()
    run = json.loads((results / "run.json").read_text())
    assert (run["status"], run["mode"], run["rti"]) == ("completed", "grpc", address)
    audit = [json.loads(line) for line in (results / "audit.jsonl").read_text().splitlines()]
    assert [(e["event"], e.get("tls"), e.get("status")) for e in audit] == [("run_start", True, None),
                                                                            ("run_end", None, "completed")]
    rti_events = [json.loads(line)["event"] for line in (tmp_path / "deploy" / "rti-audit.jsonl").read_text().splitlines()]
    assert rti_events.count("join") == 4 and "create" in rti_events and "denied" not in rti_events
    assert (results / "results.png").is_file()


# ------------------------------------------------------------ the deployment's commands, when they are misused
@pytest.fixture(scope="module")
def rtis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A TLS RTI with the example's certificates and policy, and a plaintext one, serving for the module's tests."""
    folder = tmp_path_factory.mktemp("rtis")
    certs = folder / "certs"
    subprocess.run([*CLI, "certs", "init", str(certs), "--federation", "three-sites", "--sites",
                    "utility,furnace_maker,carmaker"], check=True, capture_output=True)
    scenario = ROOT / "examples" / "three_sites" / "scenario.yaml"
    subprocess.run([*CLI, "policy", str(scenario), "--out", str(folder / "policy.yaml")], check=True, capture_output=True)
    procs = Processes(folder)
    try:
        found: dict[str, object] = {"certs": certs, "scenario": scenario}
        for name, extra in (("tls", ["--tls", str(certs), "--policy", str(folder / "policy.yaml")]), ("plain", [])):
            proc = procs.start(name, ["rti", "serve", "--listen", "127.0.0.1:0", "--audit", str(folder / f"{name}.jsonl"),
                                      *extra])
            wait_for_line(folder / f"{name}.out", "RTI listening on ", proc)
            found[name] = (folder / f"{name}.out").read_text().split()[-1]
        yield found
    finally:
        procs.stop_all()


def federation(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


def test_rti_status_without_tls_against_a_tls_rti_says_that_tls_is_needed(rtis: dict[str, object]) -> None:
    # It said "UNAVAILABLE: failed to connect to all addresses; ... Socket closed".
    proc = federation("rti", "status", "--once", "--rti", str(rtis["tls"]))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"the RTI at {rtis['tls']} requires TLS: pass --tls DIR" in said(proc)
    proc = federation("rti", "status", "--once", "--rti", str(rtis["plain"]), "--tls", str(rtis["certs"]))
    assert proc.returncode == 2 and f"the RTI at {rtis['plain']} does not speak TLS" in said(proc), proc.stderr
    proc = federation("rti", "status", "--once", "--rti", str(rtis["tls"]), "--tls", str(rtis["certs"]))
    assert proc.returncode == 0 and "state" in proc.stdout, proc.stderr


@pytest.mark.parametrize("command", ["host", "coordinate"])
def test_a_client_without_tls_against_a_tls_rti_is_told_at_once(command: str, rtis: dict[str, object]) -> None:
    site = ["--site", "utility"] if command == "host" else []
    started = time.monotonic()
    # A host waited out its --wait (30 s) and said "cannot join ... Socket closed"; the coordinator waited 30 s and said nothing.
    proc = federation(command, str(rtis["scenario"]), *site, "--rti", str(rtis["tls"]), "--out" if command == "coordinate"
                      else "--wait", "/nonexistent/out" if command == "coordinate" else "30")
    assert proc.returncode == 2 and time.monotonic() - started < 20, proc.stderr
    assert f"the RTI at {rtis['tls']} requires TLS: pass --tls DIR" in said(proc)


def test_audit_verify_of_a_missing_file_says_it_is_missing(tmp_path: Path) -> None:
    # It said "audit log broken: ...: line 0: cannot read: No such file or directory", exit 1 as for a tampered log.
    for path, why in ((tmp_path / "nothere.jsonl", "no such file"), (tmp_path, "is a folder, not an audit log")):
        proc = federation("audit", "verify", str(path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert said(proc) == f"cannot verify the audit log {path}: {why}"


def test_the_coordinator_names_the_sites_that_did_not_join(rtis: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "out"
    coordinator = subprocess.Popen([*CLI, "coordinate", str(rtis["scenario"]), "--rti", str(rtis["tls"]), "--tls",
                                    str(rtis["certs"]), "--out", str(out), "--join-timeout", "4"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        host = federation("host", str(rtis["scenario"]), "--site", "utility", "--rti", str(rtis["tls"]), "--tls",
                          str(rtis["certs"]))
        _, err = coordinator.communicate(timeout=60)
    finally:
        if coordinator.poll() is None:
            os.killpg(coordinator.pid, signal.SIGKILL)
        coordinator.wait()
    assert coordinator.returncode == 1 and host.returncode == 1, err
    expected = ("not every federate was ready within 4 s: site 'carmaker' (federate vehicle) did not join; "
                "site 'furnace_maker' (federate furnace) did not join")
    assert expected in " ".join(err.split())
    run = json.loads((out / "run.json").read_text())
    assert (run["status"], run["error"]) == ("failed", expected)
    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert [(e["event"], e.get("status")) for e in audit] == [("run_start", None), ("run_end", "failed")]


def test_the_coordinator_refuses_a_parameter_it_cannot_set(rtis: dict[str, object], tmp_path: Path) -> None:
    proc = federation("coordinate", str(rtis["scenario"]), "--rti", str(rtis["tls"]), "--tls", str(rtis["certs"]),
                      "--out", str(tmp_path / "out"), "--set", "furnace.T_set=1250")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "--set furnace.T_set: the coordinator runs no federate; a parameter is set by its site" in said(proc)
    assert not (tmp_path / "out").exists()


def test_the_coordinator_says_why_the_rti_would_not_create_the_federation(rtis: dict[str, object],
                                                                          tmp_path: Path) -> None:
    # It printed the repr of a gRPC exception.
    scenario = tmp_path / "other.yaml"  # no model next to it: the coordinator needs none
    scenario.write_text(Path(str(rtis["scenario"])).read_text().replace("federation: three-sites", "federation: other"))
    proc = federation("coordinate", str(scenario), "--rti", str(rtis["tls"]), "--tls", str(rtis["certs"]),
                      "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (f"run failed: the RTI at {rtis['tls']} did not create federation 'other': PERMISSION_DENIED: "
            "denied by policy rule federations.other.create") in said(proc)
