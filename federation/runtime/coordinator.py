"""The one coordinator of a distributed run (grpc, Ray, `federation coordinate`), and `federation coordinate`.

`Coordinator` has its launcher (runtime/launch.py) start the RTI, creates the federation, has the
launcher start the sites' hosts, records the results through its own session and waits for the
hosts, whoever started them: `runtime.local` (processes on this machine, `run --mode grpc`),
`runtime.ray` (Ray actors) or `RemoteSites` here (`federation coordinate`: the RTI serves elsewhere
and each site runs its own host).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from collections.abc import Iterable
from typing import Any, Callable

import grpc

from federation import telemetry
from federation.ambassador import RTIAmbassador
from federation.errors import RunFailure
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import failure_from_pb, fom_to_pb
from federation.results.recorder import Recorder
from federation.rti.time import LogicalTime, to_ticks
from federation.scenario import Scenario
from federation.security.certs import COORDINATOR_SITE, SiteCredentials
from federation.security.audit import Signer
from federation.security.local import Ended, audited_run
from federation.security.tls import channel_credentials, identity_metadata, open_channel, tls_mismatch

from federation.runtime.assembly import build_fom, build_recorder
from federation.runtime.driver import drive
from federation.runtime.record import RunResult, recorded_run
from federation.errors import FederationFailed

from federation.transport.grpc import ConnectionLost, RTIConnection
from federation.runtime.host import open_session
from federation.runtime.launch import HostExited, Launcher, host_accepts
from federation.runtime.modes import Routing, check_routing, run_relay_sites

log = logging.getLogger(__name__)

COORDINATOR = COORDINATOR_SITE


class CoordinationFailed(RunFailure, RuntimeError):
    """The coordinator could not drive the run on the RTI: the RTI did not start, refused the federation or
    stopped answering, or sites did not join (or resign) in time. A RuntimeError as it always was."""


def create_federation(target: str, scenario: Scenario, grant_timeout: float = 0.0,
                      creds: SiteCredentials | None = None, routing: Routing = "direct",
                      relay_sites: Iterable[str] = ()) -> None:
    """Create the scenario's federation as the coordinator (mTLS with `creds`, else insecure), with its
    `routing` and the sites that accept no connection (`relay_sites`, see run_relay_sites).

    Raises ConnectionLost when the RTI cannot be reached within 30 s, CoordinationFailed naming the
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
                expected_federates=list(scenario.federates), scenario_digest=scenario.shared_digest(),
                routing=routing, relay_sites=sorted(relay_sites)),
                timeout=10, metadata=identity_metadata(COORDINATOR, creds))
        except grpc.RpcError as exc:
            raise CoordinationFailed(f"the RTI at {target} did not create federation {scenario.federation!r}: "
                                     f"{exc.code().name}: {exc.details()}") from None


def federation_status(admin: Any, target: str, scenario: Scenario, creds: SiteCredentials | None) -> Any:
    """The federation's status on the RTI, None once it is gone (ended and reaped, or replaced);
    CoordinationFailed naming the RTI's reason when it does not answer (stopped, unreachable, a denial)."""
    try:
        return admin.InspectFederation(pb.FederationRef(name=scenario.federation), timeout=10,
                                       metadata=identity_metadata(COORDINATOR, creds))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise CoordinationFailed(f"the RTI at {target} did not report on federation {scenario.federation!r}: "
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
            status = federation_status(admin, target, scenario, creds)
            if status is None:
                raise CoordinationFailed(f"federation {scenario.federation!r} is gone from the RTI at {target}")
            if status.state == "failed":
                raise failure_from_pb(status.failure)
            ready = {f.name for f in status.federates if f.constrained}
            if wanted <= ready:
                return
            check()
            if time.monotonic() > deadline:
                raise CoordinationFailed(not_ready(scenario, {f.name for f in status.federates}, ready, timeout))
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


EXIT_GRACE = 1.0  # s a lost host's process may take to show its exit after the RTI's verdict


def coordinator_ready(conn: RTIConnection, check: Callable[[], None],
                      take: Callable[[float], list[int]] | None = None) -> Callable[[], list[int]]:
    """The coordinator's wait for work, checking its hosts while none comes.

    When a host is gone, the RTI's verdict (federate, host, logical time) is on its way and
    says more than an exit code: it is preferred when it comes within two seconds, with how
    the host process ended added (a crash names its signal).
    """
    def take_ready() -> list[int]:
        try:
            ready = (take or conn.take_ready)(0.5)
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


class Coordinator:
    """The coordinator of a distributed run, whoever launches the RTI and the sites' hosts (`launcher`).

    `run` has the launcher start the RTI, creates the federation (mTLS as site `coordinator` with
    `creds`; its `routing`, and the run's relay sites: the scenario's and `relay_sites`), has the launcher
    start the hosts, joins the recorder through its own session, waits
    until every federate has joined and declared (checking the hosts meanwhile, up to `join_timeout`
    s), then records up to the stop time and waits for the hosts to end. Any failure is raised, with
    what the hosts said about it; the launcher stops everything it started, however the run ended.
    """

    def __init__(self, scenario: Scenario, launcher: Launcher, creds: SiteCredentials | None,
                 grant_timeout: float | None = None, join_timeout: float = 60.0, routing: str = "direct",
                 relay_sites: Iterable[str] = (), listen: str = "127.0.0.1:0", advertise: str | None = None) -> None:
        """`listen`/`advertise`: where the recorder's Peer service listens, and the address hosts reach it at."""
        self.scenario, self.launcher, self.creds = scenario, launcher, creds
        self.grant_timeout, self.join_timeout = grant_timeout, join_timeout
        self.routing, self.relay_sites = check_routing(routing), run_relay_sites(scenario, relay_sites)
        self.listen, self.advertise = listen, advertise

    def run(self, recorder: Recorder, result: RunResult) -> None:
        """Run the federation to its stop time, recording it with `recorder`; the launcher adds to `result`."""
        result.extra["routing"] = self.routing
        if self.relay_sites:
            result.extra["relay_sites"] = list(self.relay_sites)
        try:
            target = self.launcher.start_rti()
            try:
                self._coordinate(target, recorder)
            except FederationFailed as failure:
                explained = self.launcher.explain(failure)
                if explained is failure:
                    raise
                raise explained from failure
        finally:
            self.launcher.stop(result)

    def _coordinate(self, target: str, recorder: Recorder) -> None:
        scenario, creds, launcher = self.scenario, self.creds, self.launcher
        create_federation(target, scenario, self.grant_timeout or 0.0, creds, self.routing, self.relay_sites)
        launcher.start_hosts(target)
        listen = self.listen if host_accepts(self.routing, self.relay_sites, COORDINATOR) else None
        transport = open_session(scenario, COORDINATOR, target, 30.0, creds, listen, self.advertise)
        conn = transport.conn
        try:
            amb = RTIAmbassador(transport, recorder.name)
            recorder.start(amb)
            wait_ready(target, scenario, launcher.check, self.join_timeout, creds)
            recorder.begin()

            take_ready = coordinator_ready(conn, launcher.check, transport.take_ready)
            try:
                drive({amb.handle: recorder}, take_ready, transport.drain, lambda: None)
            except FederationFailed:
                transport.settle()  # the running hosts' last shipments: rows the recorder can still complete
                raise
            if recorder.ended is not None:  # a model ended the run and every row up to it is written: stop the hosts
                conn.end(str(recorder.ended["federate"]), recorder.end_time, str(recorder.ended["reason"]))
            try:
                launcher.finish()
            except HostExited as exited:
                # With direct routing the recorder may finish before a federate it records nothing of fails:
                # the RTI's verdict names it better than the host's exit.
                verdict = conn.wait_failure(2.0)
                if isinstance(verdict, FederationFailed):
                    raise _with_exit(verdict, exited) from None
                raise
        finally:
            try:
                transport.close()
            finally:
                conn.close()


class RemoteSites:
    """The launcher of `federation coordinate`: the RTI serves at `target` and the sites start their own hosts
    on their own machines, so there is nothing to launch and nothing to watch but the RTI."""

    def __init__(self, scenario: Scenario, target: str, creds: SiteCredentials | None, timeout: float = 30.0) -> None:
        self.scenario, self.target, self.creds, self.timeout = scenario, target, creds, timeout

    def start_rti(self) -> str:
        return self.target

    def start_hosts(self, target: str) -> None:
        log.info("federation %s created at %s; waiting for sites %s", self.scenario.federation, target,
                 ", ".join(self.scenario.sites()))

    def check(self) -> None:
        """A remote host's failure reaches the coordinator as the RTI's verdict: nothing to poll."""

    def finish(self) -> None:
        """Wait until every site has resigned (the federation finished), or raise the RTI's verdict."""
        deadline = time.monotonic() + self.timeout
        with open_channel(self.target, self.creds) as channel:
            admin = pb_grpc.AdminStub(channel)
            while True:
                status = federation_status(admin, self.target, self.scenario, self.creds)
                if status is None:
                    return  # ended and reaped (or replaced) meanwhile: nothing is running any more
                if status.state == "failed":
                    raise failure_from_pb(status.failure)
                if status.state != "running":
                    return
                if time.monotonic() > deadline:
                    running = sorted(f"{f.name} (site {f.host!r})" for f in status.federates)
                    raise CoordinationFailed(f"federates {', '.join(running)} did not resign within "
                                             f"{self.timeout:g} s of the stop time")
                time.sleep(0.1)

    def explain(self, failure: FederationFailed) -> FederationFailed:
        return failure  # a remote host's words stay on its machine

    def stop(self, result: RunResult) -> None:
        result.extra["rti"] = self.target  # nothing started here, nothing to stop


def run_coordinator(
    scenario: Scenario,
    out_dir: Path,
    rti: str,
    creds: SiteCredentials | None,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
    grant_timeout: float | None = None,
    join_timeout: float = 300.0,
    routing: str = "direct",
    relay_sites: Iterable[str] = (),
    listen: str = "127.0.0.1:0",
    advertise: str | None = None,
) -> RunResult:
    """`federation coordinate`: the coordinator alone, against a standalone RTI and the sites' own hosts,
    with `routing` and the run's relay sites (the scenario's and `relay_sites`); the recorder's Peer service
    listens on `listen` and the hosts dial it at `advertise`.

    Writes what a local grpc run writes about the run (results.csv, results.png, run.json and
    audit.jsonl opened and closed by the coordinator); the RTI keeps its own audit log.
    """
    coordinator = Coordinator(scenario, RemoteSites(scenario, rti, creds), creds, grant_timeout, join_timeout,
                              routing, relay_sites, listen, advertise)  # checks them before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    signer = None if creds is None else Signer.from_pem(creds.key, creds.cert, creds.ca)  # the coordinator's site key
    with audited_run(scenario, out_dir, "grpc", creds is not None, signer, rti=rti) as end:
        return recorded_grpc_run(scenario, out_dir, end, on_progress, plot, coordinator.run)


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
