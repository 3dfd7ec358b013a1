"""The coordinator of a distributed run, and `federation run --mode grpc` and `federation coordinate` around it.

`coordinate` creates the federation, records the results through its own session and
waits for the sites' hosts, whoever started them. `run --mode grpc` starts an RTI server
and one host process per site on localhost, each launched as the same
`federation host SCENARIO --site SITE --rti ...` command a remote site would run, and
tears every process down at the end. `federation coordinate` starts nothing: the RTI
serves elsewhere and each site runs its own host.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Protocol

import grpc

from federation import telemetry
from federation.ambassador import RTIAmbassador
from federation.errors import CarriesFields
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import failure_from_pb, fom_to_pb
from federation.results.recorder import Recorder
from federation.rti.time import LogicalTime, to_ticks
from federation.scenario import Scenario
from federation.security.certs import COORDINATOR_SITE, SiteCredentials
from federation.security.audit import Signer
from federation.security.local import Ended, audited_run, run_security, sites
from federation.security.tls import channel_credentials, identity_metadata, open_channel, tls_mismatch

from federation.run.assembly import build_fom, build_recorder
from federation.run.driver import drive
from federation.run.record import RunResult, recorded_run
from federation.errors import FederationFailed

from federation.transport.grpc import ConnectionLost, GrpcTransport, RTIConnection
from federation.run.host import connect
from federation.run.processes import federation_command, spawn, stop_all

log = logging.getLogger(__name__)

COORDINATOR = COORDINATOR_SITE


class HostExited(CarriesFields, RuntimeError):
    """A site host process ended before the run did; `killed`: by a signal (a crash, a kill)."""

    def __init__(self, message: str, site: str = "", killed: bool = False) -> None:
        super().__init__(message)
        self.site, self.killed = site, killed


def child_env(out_dir: Path) -> dict[str, str]:
    """Telemetry settings for launched processes: same trace, same telemetry folder."""
    env = {telemetry.ENV_DIR: str(out_dir / "telemetry")}
    parent = telemetry.carrier().get("traceparent")
    if parent:
        env[telemetry.ENV_PARENT] = parent
    return env


def start_rti(log_path: Path, grant_timeout: float | None = None, env: dict[str, str] | None = None,
              security: list[str] | None = None, gate: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """Start `federation rti serve` on a free localhost port; returns the process and its address.

    Without `gate` (the RTI of one run, reached only by its own processes) gRPC accepts the
    connections itself: the connection gate's relay would cost every message a hop (bench/gate_ring.py)."""
    args = ["rti", "serve", "--listen", "127.0.0.1:0", *(security or []), *([] if gate else ["--no-gate"])]
    if grant_timeout is not None:
        args += ["--grant-timeout", str(grant_timeout)]
    proc = spawn(federation_command(*args), log_path, stdout=subprocess.PIPE, extra_env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("RTI listening on "):
        proc.kill()
        raise RuntimeError(f"the RTI server did not start (see {log_path}): {line!r}")
    return proc, line.rsplit(" ", 1)[1]


def create_federation(target: str, scenario: Scenario, grant_timeout: float = 0.0,
                      creds: SiteCredentials | None = None) -> None:
    """Create the scenario's federation as the coordinator (mTLS with `creds`, else insecure).

    Raises ConnectionLost when the RTI cannot be reached within 30 s, RuntimeError naming the
    RTI's reason when it refuses (no right, a federation of that name still running).
    """
    with open_channel(target, creds) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            mismatch = tls_mismatch(target, creds is not None)
            raise ConnectionLost(f"cannot reach the RTI at {target} within 30 s" + (f" ({mismatch})" if mismatch else "")) from None
        try:
            pb_grpc.AdminStub(channel).CreateFederation(pb.CreateFederationRequest(
                protocol_version=PROTOCOL_VERSION, name=scenario.federation, fom=fom_to_pb(build_fom(scenario)),
                start_time=to_ticks(scenario.time.start), grant_timeout_s=grant_timeout,
                expected_federates=list(scenario.federates), scenario_digest=scenario.shared_digest()), timeout=10, metadata=identity_metadata(COORDINATOR, creds))
        except grpc.RpcError as exc:
            raise RuntimeError(f"the RTI at {target} did not create federation {scenario.federation!r}: "
                               f"{exc.code().name}: {exc.details()}") from None


def wait_ready(target: str, scenario: Scenario, check: Callable[[], None], timeout: float,
               creds: SiteCredentials | None = None) -> None:
    """Block until every scenario federate has joined AND finished declaring, or fail naming the missing ones.

    A federate enables time management last in its start-up, so "constrained" means its
    subscriptions are in place: only then may initial values flow, or a late subscriber
    would miss them (results would then depend on process timing).
    """
    wanted = set(scenario.federates)
    deadline = time.monotonic() + timeout
    with open_channel(target, creds) as channel:
        admin = pb_grpc.AdminStub(channel)
        while True:
            status = admin.InspectFederation(pb.FederationRef(name=scenario.federation), timeout=10,
                                             metadata=identity_metadata(COORDINATOR, creds))
            if status.state == "failed":
                raise failure_from_pb(status.failure)
            ready = {f.name for f in status.federates if f.constrained}
            if wanted <= ready:
                return
            check()
            if time.monotonic() > deadline:
                raise TimeoutError(not_ready(scenario, {f.name for f in status.federates}, ready, timeout))
            time.sleep(0.05)


def not_ready(scenario: Scenario, joined: set[str], ready: set[str], timeout: float) -> str:
    """Which sites never joined (with their federates), and which federates joined but did not finish declaring."""
    absent: dict[str, list[str]] = {}
    for name, spec in scenario.federates.items():
        if name not in joined:
            absent.setdefault(spec.site, []).append(name)
    parts = [f"site {site!r} (federate{'s' * (len(names) > 1)} {', '.join(names)}) did not join"
             for site, names in sorted(absent.items())]
    parts += [f"federate {name!r} (site {scenario.federates[name].site!r}) joined but did not finish declaring"
              for name in sorted(joined & set(scenario.federates) - ready)]
    return f"not every federate was ready within {timeout:g} s: {'; '.join(parts)}"


def host_exited(site: str, code: int, logs: Path | None) -> HostExited:
    """The error for a host that ended early, with the last thing it said (its reason, usually)."""
    said = ""
    log_file = logs / f"host-{site}.log" if logs is not None else None
    if log_file is not None and log_file.is_file():
        lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
        said = f": {lines[-1]}" if lines else ""
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


EXIT_GRACE = 1.0  # s a lost host's process may take to show its exit after the RTI's verdict


def coordinator_ready(conn: RTIConnection, check: Callable[[], None]) -> Callable[[], list[int]]:
    """The coordinator's wait for work, checking its hosts while none comes.

    When a host is gone, the RTI's verdict (federate, host, logical time) is on its way and
    says more than an exit code: it is preferred when it comes within two seconds, with how
    the host process ended added (a crash names its signal).
    """
    def take_ready() -> list[int]:
        try:
            ready = conn.take_ready(0.5)
            if not ready:
                check()
            return ready
        except FederationFailed as failed:
            # A host that lost its stream may still be exiting (the kernel closes a killed process's
            # sockets before it is reaped): give it a moment to say how it ended.
            deadline = time.monotonic() + (0.0 if failed.reported else EXIT_GRACE)
            while True:
                try:
                    check()
                except HostExited as exited:
                    raise _with_exit(failed, exited) from None
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        except HostExited as exited:
            verdict = conn.wait_failure(2.0)
            if isinstance(verdict, FederationFailed):
                raise _with_exit(verdict, exited) from None
            raise
    return take_ready


def _with_exit(failure: FederationFailed, exited: HostExited) -> FederationFailed:
    """The verdict, with the exit of the host it names or of a host killed by a signal (a host that
    just ended on the verdict itself adds nothing)."""
    if not exited.killed and (failure.reported or exited.site != failure.host):
        return failure  # a host that reported its federate's error and left has nothing to add
    return FederationFailed(failure.federate, failure.host, failure.time, f"{failure.reason} ({exited})",
                            failure.reported)


def override_args(scenario: Scenario) -> list[str]:
    """The scenario's overrides as `--set` options, so every host runs the same scenario."""
    import yaml

    args: list[str] = []
    for key, value in sorted(scenario.overrides.items()):
        args += ["--set", f"{key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"]
    return args


class Sites(Protocol):
    """The sites' hosts as the coordinator sees them: whoever started them starts, watches and awaits them."""

    def start(self, target: str) -> None:
        """Launch the hosts, once the federation exists at `target`."""

    def check(self) -> None:
        """Raise (HostExited) when a host has ended with an error."""

    def finish(self) -> None:
        """After the recorder reached the stop time: wait for the hosts to end; raise if one failed."""


def coordinate(scenario: Scenario, target: str, creds: SiteCredentials | None, recorder: Recorder, sites: Sites,
               grant_timeout: float | None = None, join_timeout: float = 60.0) -> None:
    """The coordinator of a distributed run, whoever started the RTI at `target` and the sites' hosts.

    Creates the federation (mTLS as site `coordinator` with `creds`), lets `sites` start their
    hosts, joins the recorder through its own session, waits until every federate has joined
    and declared (checking the hosts meanwhile, up to `join_timeout` s), then records up to
    the stop time and waits for the hosts to end. Any failure is raised; the session is closed.
    """
    create_federation(target, scenario, grant_timeout or 0.0, creds)
    sites.start(target)
    conn = connect(target, scenario.federation, COORDINATOR, metadata=telemetry.grpc_metadata(),
                   credentials=channel_credentials(creds) if creds is not None else None,
                   scenario_digest=scenario.shared_digest())
    try:
        transport = GrpcTransport(conn)
        amb = RTIAmbassador(transport, recorder.name)
        recorder.start(amb)
        wait_ready(target, scenario, sites.check, join_timeout, creds)
        recorder.begin()

        take_ready = coordinator_ready(conn, sites.check)
        drive({amb.handle: recorder}, take_ready, transport.drain, lambda: None)
        sites.finish()
    finally:
        conn.close()


class LocalHosts:
    """One `federation host` process per site on this machine, logging into out_dir/logs."""

    def __init__(self, scenario: Scenario, logs: Path, host_args: list[str], env: dict[str, str]) -> None:
        self.scenario, self.logs, self.host_args, self.env = scenario, logs, host_args, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, target: str) -> None:
        for site in sites(self.scenario):
            cmd = federation_command("host", str(self.scenario.path), "--site", site, "--rti", target,
                                     *self.host_args, *override_args(self.scenario))
            self.procs[site] = spawn(cmd, self.logs / f"host-{site}.log", extra_env=self.env)

    def check(self) -> None:
        check_hosts(self.procs, self.logs)

    def finish(self) -> None:
        for site, proc in self.procs.items():
            code = proc.wait(30)
            if code != 0:
                raise host_exited(site, code, self.logs)


class RemoteSites:
    """Hosts that the sites start on their own machines: nothing to launch, nothing to watch but the RTI."""

    def __init__(self, scenario: Scenario, target: str, creds: SiteCredentials | None, timeout: float = 30.0) -> None:
        self.scenario, self.target, self.creds, self.timeout = scenario, target, creds, timeout

    def start(self, target: str) -> None:
        log.info("federation %s created at %s; waiting for sites %s", self.scenario.federation, target,
                 ", ".join(sites(self.scenario)))

    def check(self) -> None:
        """A remote host's failure reaches the coordinator as the RTI's verdict: nothing to poll."""

    def finish(self) -> None:
        """Wait until every site has resigned (the federation finished), or raise the RTI's verdict."""
        deadline = time.monotonic() + self.timeout
        with open_channel(self.target, self.creds) as channel:
            admin = pb_grpc.AdminStub(channel)
            while True:
                try:
                    status = admin.InspectFederation(pb.FederationRef(name=self.scenario.federation), timeout=10,
                                                     metadata=identity_metadata(COORDINATOR, self.creds))
                except grpc.RpcError as exc:
                    if exc.code() == grpc.StatusCode.NOT_FOUND:
                        return  # ended and reaped (or replaced) meanwhile: nothing is running any more
                    raise
                if status.state == "failed":
                    raise failure_from_pb(status.failure)
                if status.state != "running":
                    return
                if time.monotonic() > deadline:
                    running = sorted(f"{f.name} (site {f.host!r})" for f in status.federates)
                    raise TimeoutError(f"federates {', '.join(running)} did not resign within {self.timeout:g} s "
                                       "of the stop time")
                time.sleep(0.1)


def run_grpc(
    scenario: Scenario,
    out_dir: Path,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
    grant_timeout: float | None = None,
    join_timeout: float = 60.0,
    insecure: bool = False,
    rti: str | None = None,
) -> RunResult:
    """Run with mTLS and the scenario's policy (throw-away certificates) unless `insecure`.

    `rti`: the address of an RTI already serving in insecure mode (e.g. one a test watches)
    instead of starting one.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with run_security(scenario, out_dir, "grpc", insecure or rti is not None) as sec:
        logs = out_dir / "logs"
        logs.mkdir(exist_ok=True)
        env = child_env(out_dir)
        hosts = LocalHosts(scenario, logs, sec.host_args(), env)
        servers: list[subprocess.Popen[bytes]] = []

        def body(recorder: Recorder, result: RunResult) -> None:
            try:
                target = rti
                if target is None:
                    server, target = start_rti(logs / "rti.log", grant_timeout, env, sec.rti_args())
                    servers.append(server)
                coordinate(scenario, target, sec.credentials(COORDINATOR), recorder, hosts, grant_timeout,
                           join_timeout)
            finally:
                stop_all(list(hosts.procs.values()) + servers)

        return recorded_grpc_run(scenario, out_dir, sec, on_progress, plot, body)


def run_coordinator(
    scenario: Scenario,
    out_dir: Path,
    rti: str,
    creds: SiteCredentials | None,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
    grant_timeout: float | None = None,
    join_timeout: float = 300.0,
) -> RunResult:
    """`federation coordinate`: the coordinator alone, against a standalone RTI and the sites' own hosts.

    Writes what a local grpc run writes about the run (results.csv, results.png, run.json and
    audit.jsonl opened and closed by the coordinator); the RTI keeps its own audit log.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    signer = None if creds is None else Signer.from_pem(creds.key, creds.cert, creds.ca)  # the coordinator's site key
    with audited_run(scenario, out_dir, "grpc", creds is not None, signer, rti=rti) as end:
        sites = RemoteSites(scenario, rti, creds)

        def body(recorder: Recorder, result: RunResult) -> None:
            result.extra["rti"] = rti
            coordinate(scenario, rti, creds, recorder, sites, grant_timeout, join_timeout)

        return recorded_grpc_run(scenario, out_dir, end, on_progress, plot, body)


def recorded_grpc_run(scenario: Scenario, out_dir: Path, end: Ended, on_progress: Callable[[LogicalTime], None] | None,
                      plot: bool, body: Callable[[Recorder, RunResult], None], mode: str = "grpc") -> RunResult:
    """Run `body(recorder, result)` inside recorded_run (status, run.json, plot); `end` records the status in
    the audit log before run.json is written, and run.json records the log's head.

    `body` may add to the result (steps, mode-specific facts for run.json) before it returns or raises.
    """
    recorder = build_recorder(scenario, out_dir, on_progress)
    with recorded_run(scenario, out_dir, recorder, mode, plot, closing=lambda result: end.end(result.status)) as result:
        body(recorder, result)
    return result
