"""`federation run --mode grpc`: the run's RTI and one host process per site on this machine.

The one place where the runtime starts `federation ...` children: the RTI as `federation rti serve
--ready-file PATH` (it writes {"listen", "port", "pid"} once it listens), each host as `federation
host --options FILE` with its typed `HostOptions` in the run folder (out_dir/launch/host-<site>.json),
the same host a site's owner runs by hand. Every process is torn down at the end of the run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Iterable
from typing import Callable

from federation import telemetry
from federation.errors import FederationFailed
from federation.results.recorder import Recorder
from federation.rti.time import LogicalTime
from federation.scenario import Scenario
from federation.security.certs import COORDINATOR_SITE
from federation.security.local import RunSecurity, run_security

from federation.runtime.coordinator import CoordinationFailed, Coordinator, recorded_grpc_run
from federation.runtime.launch import HostExited, HostOptions, host_accepts
from federation.runtime.modes import Routing, check_routing, run_relay_sites
from federation.runtime.processes import spawn, stop_all
from federation.runtime.record import RunResult, model_digests

LOCAL_LISTEN = "127.0.0.1:0"  # a local run's hosts reach each other on loopback
LAUNCH_DIR = "launch"  # in the run folder: the hosts' options and the RTI's ready file
RTI_START_TIMEOUT = 60.0  # s for `rti serve` to listen (imports, certificates) before the run gives up


def federation_command(*args: str) -> list[str]:
    """The `federation` CLI as a child command (the same one a remote site runs)."""
    return [sys.executable, "-m", "federation.cli", *args]


def child_env(out_dir: Path) -> dict[str, str]:
    """Telemetry settings for launched processes: same trace, same telemetry folder."""
    env = {telemetry.ENV_DIR: str(out_dir / "telemetry")}
    parent = telemetry.carrier().get("traceparent")
    if parent:
        env[telemetry.ENV_PARENT] = parent
    return env


def start_rti(log_path: Path, grant_timeout: float | None = None, env: dict[str, str] | None = None,
              security: list[str] | None = None, gate: bool = False,
              ready_file: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start `federation rti serve` on a free localhost port; returns the process and its address, once it listens.

    Without `gate` (the RTI of one run, reached only by its own processes) gRPC accepts the
    connections itself: the connection gate's relay would cost every message a hop (bench/gate_ring.py).
    `ready_file` (default: beside the log) is where the RTI says it listens."""
    proc, ready = spawn_rti(log_path, grant_timeout, env, security, gate, ready_file)
    return proc, await_rti(proc, ready, log_path)


def spawn_rti(log_path: Path, grant_timeout: float | None = None, env: dict[str, str] | None = None,
              security: list[str] | None = None, gate: bool = False,
              ready_file: Path | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """`start_rti` without the wait: the process, and the file it will say where it listens in (await_rti)."""
    ready = ready_file or log_path.with_suffix(".ready.json")
    ready.unlink(missing_ok=True)  # an earlier RTI's
    args = ["rti", "serve", "--listen", "127.0.0.1:0", "--ready-file", str(ready), *(security or []),
            *([] if gate else ["--no-gate"])]
    if grant_timeout is not None:
        args += ["--grant-timeout", str(grant_timeout)]
    return spawn(federation_command(*args), log_path, extra_env=env), ready


def await_rti(proc: subprocess.Popen[bytes], ready: Path, log_path: Path) -> str:
    """The address of a spawned RTI once it listens; CoordinationFailed (and the process stopped) if it does not."""
    try:
        info = wait_ready_file(ready, proc, RTI_START_TIMEOUT)
    except RuntimeError as exc:
        stop_all([proc])
        raise CoordinationFailed(f"the RTI server did not start (see {log_path}): {exc}{last_line(log_path)}") from None
    return str(info["listen"])


def wait_ready_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    """The JSON a child writes (whole, by rename) once it is ready; RuntimeError when it ends or times out first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info: dict[str, object] = json.loads(path.read_bytes())
            return info
        except FileNotFoundError:
            pass
        code = proc.poll()
        if code is not None:
            raise RuntimeError(f"it {exit_status(code)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"it did not write {path} within {timeout:g} s")
        time.sleep(0.01)


def last_line(log_file: Path | None) -> str:
    """': <the last non-empty line of log_file>' (its reason, usually), or ''."""
    if log_file is None or not log_file.is_file():
        return ""
    lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


def host_exited(site: str, code: int, logs: Path | None) -> HostExited:
    """The error for a host that ended early, with the last thing it said (its reason, usually)."""
    said = last_line(logs / f"host-{site}.log" if logs is not None else None)
    return HostExited(f"host of site {site!r} {exit_status(code)}{said}", site, code < 0)


def exit_status(code: int) -> str:
    """How a child process ended, in words: a crash names its signal."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def check_hosts(hosts: dict[str, subprocess.Popen[bytes]], logs: Path | None = None) -> None:
    """HostExited for a host that ended with an error: one killed by a signal first (it says the most)."""
    ended = [(site, code) for site, proc in hosts.items() if (code := proc.poll()) not in (None, 0)]
    if ended:
        site, code = min(ended, key=lambda e: e[1] >= 0)
        raise host_exited(site, code, logs)


class LocalLauncher:
    """An RTI process (unless `rti` names one already serving) and one `federation host` process per site,
    logging into out_dir/logs. With direct `routing` each host's Peer service listens on loopback, but for
    the `relay_sites`, which accept no connection (as with relay routing, where no host needs to)."""

    def __init__(self, scenario: Scenario, out_dir: Path, sec: RunSecurity, grant_timeout: float | None = None,
                 rti: str | None = None, routing: Routing = "direct", relay_sites: Iterable[str] = ()) -> None:
        self.scenario, self.sec, self.grant_timeout, self.rti = scenario, sec, grant_timeout, rti
        self.routing, self.relay_sites = routing, frozenset(relay_sites)
        self.logs, self.launch = out_dir / "logs", out_dir / LAUNCH_DIR
        self.logs.mkdir(exist_ok=True)
        self.env = child_env(out_dir)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.servers: list[subprocess.Popen[bytes]] = []

    def start_rti(self) -> str:
        """Start the RTI and, while it starts, the hosts: they read its address in its ready file once it
        listens, and join once the coordinator has created the federation (their start-up, imports and
        models, overlaps the RTI's)."""
        if self.rti is not None:
            return self.rti
        self.launch.mkdir(exist_ok=True)
        log_path = self.logs / "rti.log"
        server, ready = spawn_rti(log_path, self.grant_timeout, self.env, self.sec.rti_args(),
                                  ready_file=self.launch / "rti.ready.json")
        self.servers.append(server)
        self._spawn_hosts("", ready)
        return await_rti(server, ready, log_path)

    def start_hosts(self, target: str) -> None:
        if not self.procs:  # started with the RTI, unless it was already serving
            self._spawn_hosts(target, None)

    def _spawn_hosts(self, target: str, rti_ready_file: Path | None) -> None:
        for site in self.scenario.sites():
            options = HostOptions.of(self.scenario, site, target, tls=self.sec.certs.root if self.sec.certs else None,
                                     traceparent=self.env.get(telemetry.ENV_PARENT),
                                     telemetry_dir=self.env[telemetry.ENV_DIR], listen=LOCAL_LISTEN,
                                     accepts=host_accepts(self.routing, self.relay_sites, site),
                                     rti_ready_file=rti_ready_file)
            path = options.write(self.launch / f"host-{site}.json")
            self.procs[site] = spawn(federation_command("host", "--options", str(path)),
                                     self.logs / f"host-{site}.log", extra_env=self.env)

    def check(self) -> None:
        check_hosts(self.procs, self.logs)

    def finish(self) -> None:
        for site, proc in self.procs.items():
            code = proc.wait(30)
            if code != 0:
                raise host_exited(site, code, self.logs)

    def explain(self, failure: FederationFailed) -> FederationFailed:
        return failure  # a host's exit is added while the coordinator waits (coordinator_ready)

    def stop(self, result: RunResult) -> None:
        stop_all(list(self.procs.values()) + self.servers)


def run_grpc(
    scenario: Scenario,
    out_dir: Path,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
    grant_timeout: float | None = None,
    join_timeout: float = 60.0,
    insecure: bool = False,
    rti: str | None = None,
    routing: str = "direct",
    relay_sites: Iterable[str] = (),
) -> RunResult:
    """Run with mTLS and the scenario's policy (throw-away certificates) unless `insecure`, with `routing`
    and the run's relay sites (the scenario's and `relay_sites`).

    `rti`: the address of an RTI already serving in insecure mode (e.g. one a test watches)
    instead of starting one.
    """
    checked, relay = check_routing(routing), run_relay_sites(scenario, relay_sites)
    out_dir.mkdir(parents=True, exist_ok=True)
    with run_security(scenario, out_dir, "grpc", insecure or rti is not None) as sec:
        launcher = LocalLauncher(scenario, out_dir, sec, grant_timeout, rti, checked, relay)
        coordinator = Coordinator(scenario, launcher, sec.credentials(COORDINATOR_SITE), grant_timeout, join_timeout,
                                  checked, relay)
        models = model_digests(scenario)  # this machine's hosts load these very files

        def body(recorder: Recorder, result: RunResult) -> None:
            result.extra["models"] = models
            coordinator.run(recorder, result)

        return recorded_grpc_run(scenario, out_dir, sec, on_progress, plot, body)
