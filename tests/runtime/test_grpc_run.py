"""`federation run --mode grpc` end to end: real RTI server and host processes, no mocks.

Every run is the CLI in a child process (its own session, so a broken test can kill the
whole tree); the test watches the run's descendants with psutil so it can inject faults
into one owner's host and check that nothing outlives the run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).with_name("grpc_fixtures")
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
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


@pytest.fixture
def runs() -> list[CliRun]:
    """Runs started by a test; whatever is still alive when it ends is killed."""
    started: list[CliRun] = []
    yield started
    for run in started:
        if run.proc.poll() is None or leftovers(run):
            run.kill()


def start(runs: list[CliRun], args: list[str], log_dir: Path, name: str) -> CliRun:
    run = CliRun(args, log_dir, name)
    runs.append(run)
    return run


# ------------------------------------------------------------------ equivalence
@pytest.mark.parametrize("which", ["flagship", "ring4"])
def test_grpc_results_are_byte_identical_to_embedded(
    which: str, fmu_dist: Path, tmp_path: Path, runs: list[CliRun]
) -> None:
    from bench.ring_scenario import write_ring

    if which == "flagship":
        scenario, extra = FLAGSHIP, ["--stop", "3600"]
    else:
        scenario, extra = write_ring(tmp_path / "scenario", 4, 300, fmi="2"), []
    out = {mode: tmp_path / f"out-{mode}" for mode in ("embedded", "grpc")}
    for mode, folder in out.items():
        run = start(runs, ["run", str(scenario), "--mode", mode, "--out", str(folder), "--no-plot", *extra],
                    tmp_path, mode)
        code = run.wait(60)
        assert code == 0, f"{mode} run failed ({code}):\n{run.stderr}"
        if mode == "grpc":
            assert_no_leftovers(run, str(folder), str(tmp_path))
            assert json.loads((folder / "run.json").read_text())["mode"] == "grpc"
    embedded, grpc = (out[m] / "results.csv" for m in ("embedded", "grpc"))
    assert embedded.stat().st_size > 1000
    assert grpc.read_bytes() == embedded.read_bytes()


# ------------------------------------------------------------------ failures
STOP = 1_000_000.0


def chain_scenario(tmp_path: Path, **end_parameters: object) -> Path:
    """The three-site chain src (alpha) -> mid (beta) -> end (gamma) of Python models, in tmp_path."""
    folder = tmp_path / "scenario"
    folder.mkdir()
    shutil.copy(FIXTURES / "models.py", folder / "models.py")
    data = yaml.safe_load((FIXTURES / "chain.yaml").read_text())
    data["time"]["stop"] = STOP
    data["federates"]["end"]["parameters"] = dict(end_parameters)
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


def test_host_killed_mid_run_fails_the_run_naming_it(tmp_path: Path, runs: list[CliRun]) -> None:
    scenario, out = chain_scenario(tmp_path), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot"], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    victim = run.site_process("beta")
    victim.send_signal(signal.SIGKILL)
    fault_at = time.monotonic()
    run.wait(30)
    latency, t_fail = check_failed_run(run, out, fault_at, "mid", "beta")
    assert "host of site 'beta' was killed by SIGKILL" in " ".join(run.stderr.split()), run.stderr
    assert not alive(victim)
    assert_no_leftovers(run, str(tmp_path))
    print(f"SIGKILL of host beta: run exited {latency:.2f} s later (failure at t={t_fail:g} s)")


def test_federate_stuck_in_its_step_is_named_by_the_grant_timeout(tmp_path: Path, runs: list[CliRun]) -> None:
    marker = tmp_path / "stalled"
    scenario, out = chain_scenario(tmp_path, stall_at=1500.0, marker=str(marker)), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot",
                       "--grant-timeout", "3"], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    run.wait(30)
    assert marker.exists(), f"the federate never stalled:\n{run.stderr}"
    # the marker holds the wall-clock time the step started hanging; convert it to our monotonic clock
    stalled_ago = time.time() - float(marker.read_text())
    fault_at = time.monotonic() - stalled_ago
    latency, t_fail = check_failed_run(run, out, fault_at, "end", "gamma")
    assert t_fail == 1500.0
    assert "grant timeout" in " ".join(run.stderr.split())
    assert latency > 3.0  # not before the grant timeout ran out
    assert_no_leftovers(run, str(tmp_path))
    print(f"stuck step in 'end' on gamma: run exited {latency:.2f} s after the stall")


def test_silent_host_is_caught_by_the_heartbeat_timeout_and_killed(tmp_path: Path, runs: list[CliRun]) -> None:
    """A partition without a closed stream: the host is SIGSTOPped, connected but silent."""
    scenario, out = chain_scenario(tmp_path), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot"], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    victim = run.site_process("beta")
    try:
        victim.send_signal(signal.SIGSTOP)
        fault_at = time.monotonic()
        run.wait(30)
        latency, t_fail = check_failed_run(run, out, fault_at, "mid", "beta")
        assert "no message or heartbeat" in " ".join(run.stderr.split())
        # the stopped process was torn down, not left frozen; and promptly: SIGTERM alone stays
        # pending until a SIGCONT, so teardown must not sit out its grace period before SIGKILL
        assert not alive(victim)
        assert "ignored SIGTERM" not in run.stderr
        assert_no_leftovers(run, str(tmp_path))
    finally:
        if alive(victim):
            victim.send_signal(signal.SIGKILL)
    print(f"SIGSTOP of host beta: run exited {latency:.2f} s later (failure at t={t_fail:g} s): "
          f"{' '.join(run.stderr.split())[:300]}")



def test_killing_the_run_command_takes_its_rti_and_hosts_with_it(tmp_path: Path, runs: list[CliRun]) -> None:
    scenario, out = chain_scenario(tmp_path), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot"], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    run.poll()
    run.proc.kill()  # SIGKILL: no teardown code runs in the parent
    run.proc.wait(10)
    deadline = time.monotonic() + 5
    while leftovers(run, str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert_no_leftovers(run, str(tmp_path))
