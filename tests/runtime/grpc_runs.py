"""What the `federation run --mode grpc` tests share: a run as a watched child process, the three-site chain they
cut short, and the checks of a failed run (fast, naming its culprit, keeping its rows, leaving no process).

Every run is the CLI in a child process (its own session, so a broken test can kill the whole tree); a test
watches the run's descendants with psutil so it can inject faults into one site's host and check that
nothing outlives the run. The `runs` fixture (conftest.py) kills whatever a test leaves running.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).with_name("grpc_fixtures")
CLI = [sys.executable, "-m", "federation.cli"]

FAILURE = re.compile(r"federate '(?P<federate>[^']+)' on host '(?P<host>[^']+)' at t=(?P<t>[0-9.eE+-]+) s")
DETECTION_LIMIT = 10.0  # s from the fault to the exit of `federation run`


class CliRun:
    """One `federation ...` command as a child process, with every descendant it ever had."""

    def __init__(self, args: list[str], log_dir: Path, name: str) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # TMPDIR: the run's throw-away certificates stay in the test's folder, even after a SIGKILL
            self.proc = subprocess.Popen(CLI + args, cwd=ROOT, stdout=out, stderr=err, start_new_session=True,
                                         env={**os.environ, "TMPDIR": str(log_dir)})
        self.seen: dict[int, tuple[float, str]] = {}  # pid -> (create time, cmdline)
        self.exited_at: float | None = None

    def poll(self) -> int | None:
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                try:  # re-read the command line: right after fork it is still the parent's
                    cmd = " ".join(child.cmdline())
                    if cmd:  # a zombie's is empty: keep what it ran
                        self.seen[child.pid] = (child.create_time(), cmd)
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        code = self.proc.poll()
        if code is not None and self.exited_at is None:
            self.exited_at = time.monotonic()
        return code

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"`federation {' '.join(self.proc.args[3:])}` did not exit within {timeout:g} s\n{self.stderr}")
            time.sleep(0.02)
        return code

    def site_process(self, site: str, timeout: float = 10.0) -> psutil.Process:
        """The `federation host --options .../host-SITE.json` process of this run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            for pid, (_, cmd) in self.seen.items():
                if "federation.cli host" in cmd and f"/host-{site}.json" in cmd and psutil.pid_exists(pid):
                    return psutil.Process(pid)
            time.sleep(0.05)
        pytest.fail(f"no host process for site {site!r} among {self.seen}")

    def kill(self) -> None:
        """Last-resort cleanup after a failed assertion: the whole tree, by pid."""
        for pid in [self.proc.pid, *self.seen]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def leftovers(run: CliRun, *markers: str) -> list[str]:
    """Processes of the run still alive: its descendants, or any process naming one of `markers`."""
    left = []
    for pid, (created, cmd) in run.seen.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == created and alive(p):
                left.append(f"{pid} [{p.status()}] {cmd}")
        except psutil.NoSuchProcess:
            pass
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.pid != os.getpid() and any(m in cmd for m in markers) and alive(p):
            left.append(f"{p.pid} {cmd}")
    return left


def assert_no_leftovers(run: CliRun, *markers: str) -> None:
    assert run.proc.poll() is not None
    left = leftovers(run, *markers)
    if left:
        for pid in run.seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not left, f"processes left behind: {left}"
    assert any("federation.cli host" in cmd for _, cmd in run.seen.values()), "the test never saw the host processes"


def free_address() -> str:
    """A HOST:PORT on 127.0.0.1 free a moment ago (for a process to listen on)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def start(runs: list[CliRun], args: list[str], log_dir: Path, name: str) -> CliRun:
    run = CliRun(args, log_dir, name)
    runs.append(run)
    return run


# ------------------------------------------------------------------ the chain a fault cuts short
STOP = 1_000_000.0


def chain_scenario(tmp_path: Path, change: Callable[[dict[str, Any]], None] | None = None,
                   **end_parameters: object) -> Path:
    """The three-site chain src (alpha) -> mid (beta) -> end (gamma) of Python models, in tmp_path
    (`change`: edits its YAML data before it is written)."""
    folder = tmp_path / "scenario"
    folder.mkdir()
    shutil.copy(FIXTURES / "models.py", folder / "models.py")
    data = yaml.safe_load((FIXTURES / "chain.yaml").read_text())
    data["time"]["stop"] = STOP
    data["federates"]["end"]["parameters"] = dict(end_parameters)
    if change is not None:
        change(data)
    path = folder / "chain.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def wait_for_rows(run: CliRun, csv_path: Path, timeout: float = 30.0) -> None:
    """Until results.csv holds data rows (on disk once the file buffer first fills)."""
    deadline = time.monotonic() + timeout
    while not (csv_path.exists() and csv_path.read_bytes().count(b"\n") > 1):
        if run.poll() is not None:
            pytest.fail(f"the run ended before results.csv grew ({run.proc.returncode}):\n{run.stderr}")
        if time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"results.csv did not grow within {timeout:g} s")
        time.sleep(0.05)


def check_failed_run(run: CliRun, out: Path, fault_at: float, federate: str, host: str) -> tuple[float, float]:
    """The run failed fast, named the culprit, and kept every completed row; returns (latency, failure time)."""
    assert run.proc.returncode not in (None, 0)
    assert run.exited_at is not None
    latency = run.exited_at - fault_at
    message = " ".join(run.stderr.split())  # rich wraps long lines at 80 columns
    assert latency < DETECTION_LIMIT, f"exit {latency:.2f} s after the fault:\n{message}"
    found = FAILURE.search(message)
    assert found, f"no federate/host/time in the error:\n{message}"
    assert (found["federate"], found["host"]) == (federate, host), message
    t_fail = float(found["t"])
    # results.csv: header + every completed step, ending on a full line, stopped short of the stop time
    data = (out / "results.csv").read_bytes()
    assert data.endswith(b"\n"), data[-200:]
    rows = list(csv.reader(io.StringIO(data.decode())))
    header, body = rows[0], rows[1:]
    assert header == ["time", "src.y", "mid.y", "end.y"]
    assert len(body) > 100 and all(len(r) == len(header) for r in body)
    times = [float(r[0]) for r in body]
    assert times == [float(k) for k in range(len(body))]
    assert times[-1] < STOP
    # the recorder asks for many rows at once, yet writes every row below the last safe GALT
    assert 0.0 < t_fail < STOP and abs(t_fail - times[-1]) <= 2.0, (t_fail, times[-1])
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and federate in info["error"] and info["last_time_s"] == times[-1]
    return latency, t_fail


def fault_mid_run(tmp_path: Path, runs: list[CliRun], sig: signal.Signals, *args: str) -> tuple[Path, float, float]:
    """The chain as `federation run --mode grpc *args`; once it has rows, site beta's host gets `sig` (SIGKILL: gone,
    SIGSTOP: connected but silent). The run must fail as check_failed_run says, tear that host down and leave no
    process; returns its folder, its exit latency and its failure time."""
    scenario, out = chain_scenario(tmp_path), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot", *args], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    victim = run.site_process("beta")
    try:
        victim.send_signal(sig)
        fault_at = time.monotonic()
        run.wait(30)
        latency, t_fail = check_failed_run(run, out, fault_at, "mid", "beta")
        said = " ".join(run.stderr.split())  # rich wraps long lines at 80 columns
        if sig == signal.SIGKILL:
            assert "host of site 'beta' was killed by SIGKILL" in said, said
        else:
            # relay: the RTI's heartbeat timeout; direct: often first, a peer whose channel to it went silent
            assert "no message or heartbeat" in said or "lost its channel with site 'beta'" in said, said
            # torn down promptly: SIGTERM alone stays pending until a SIGCONT, so teardown must not sit
            # out its grace period before SIGKILL
            assert "ignored SIGTERM" not in run.stderr
        assert not alive(victim)
        assert_no_leftovers(run, str(tmp_path))
    finally:
        if alive(victim):
            victim.send_signal(signal.SIGKILL)
    print(f"{sig.name} of host beta ({' '.join(args) or 'default routing'}): run exited {latency:.2f} s later "
          f"(failure at t={t_fail:g} s): {said[:300]}")
    return out, latency, t_fail
