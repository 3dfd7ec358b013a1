"""Site host: runs one site's federates against a remote RTI over gRPC.

It loads that site's FMUs from local disk; only the exposed outputs (as packed
values keyed by handles) ever leave this process.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import grpc

from federation import telemetry
from federation.ambassador import Federate, RTIAmbassador
from federation.errors import ConfigurationError, FederationEnded, FederationFailed
from federation.scenario import Scenario, load_scenario
from federation.security.tunable import check_tunable

from federation.runtime.assembly import build_federates
from federation.runtime.driver import drive
from federation.runtime.launch import HostOptions
from federation.security.certs import SiteCredentials
from federation.security.tls import channel_credentials, check_peer_capable
from federation.transport.direct import DirectTransport
from federation.transport.grpc import ConnectionLost, RTIConnection
from federation.transport.peers import PeerServer

log = logging.getLogger(__name__)


def connect(
    target: str, federation: str, site: str, wait: float = 30.0,
    credentials: grpc.ChannelCredentials | None = None, metadata: tuple[tuple[str, str], ...] = (),
    scenario_digest: str = "", endpoint: str = "",
) -> RTIConnection:
    """Open a session, retrying while the RTI is starting or the federation is not created yet."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return RTIConnection(target, federation, site, credentials, metadata=metadata,
                                 scenario_digest=scenario_digest, endpoint=endpoint)
        except (ConnectionLost, TimeoutError) as exc:
            if time.monotonic() >= deadline:
                raise ConnectionLost(f"cannot join federation {federation!r} at {target}: {exc}") from None
            time.sleep(0.2)


def load_host_scenario(options: HostOptions) -> Scenario:
    """The scenario as the options' site sees it (its own models only), with the run's overrides."""
    return load_scenario(options.scenario, options.overrides or None, site=options.site)


def serve_host(options: HostOptions, scenario: Scenario, creds: SiteCredentials | None = None) -> dict[str, int]:
    """`run_host` for `scenario` (see load_host_scenario) as the options say, inside the launching run's trace
    (the options' traceparent, else the one this process inherited)."""
    telemetry.setup(f"federation-host-{options.site}", options.telemetry_dir)
    parent = telemetry.context_from({"traceparent": options.traceparent}) if options.traceparent \
        else telemetry.inherited_context()
    with telemetry.span("federation.host", parent, site=options.site, federation=scenario.federation):
        target = options.rti if options.rti_ready_file is None else rti_address(options.rti_ready_file, options.wait)
        return run_host(scenario, options.site, target, options.wait, creds, listen=options.listen,
                        advertise=options.advertise, accepts=options.accepts)


def rti_address(ready_file: Path, wait: float) -> str:
    """The RTI's HOST:PORT from the ready file it writes (whole, by rename) once it listens; ConnectionLost when it
    does not appear within `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return str(json.loads(ready_file.read_bytes())["listen"])
        except (FileNotFoundError, KeyError, ValueError):
            if time.monotonic() >= deadline:
                raise ConnectionLost(f"the RTI did not say where it listens ({ready_file}) within {wait:g} s") from None
            time.sleep(0.02)


def open_session(scenario: Scenario, site: str, target: str, wait: float, creds: SiteCredentials | None,
                 listen: str | None = "127.0.0.1:0", advertise: str | None = None) -> DirectTransport:
    """Serve this site's Peer service (unless `listen` is None: it accepts no connection), join the federation's
    session with its endpoint, and return the transport every federate of the site shares."""
    if creds is not None and listen is not None:
        check_peer_capable(creds)
    # One pool thread per inbound stream for the whole run: room for every other site, and some to spare.
    server = None if listen is None else PeerServer(scenario.federation, listen, creds, advertise,
                                                    max_streams=len(scenario.sites()) + 8)
    try:
        conn = connect(target, scenario.federation, site, wait, channel_credentials(creds) if creds else None,
                       telemetry.grpc_metadata(), scenario.shared_digest(), server.endpoint if server else "")
    except BaseException:
        if server is not None:
            server.stop(0)
        raise
    return DirectTransport(conn, site, server, creds)


def run_host(
    scenario: Scenario, site: str, target: str, wait: float = 30.0, creds: SiteCredentials | None = None,
    listen: str = "127.0.0.1:0", advertise: str | None = None, accepts: bool = True,
) -> dict[str, int]:
    """Join every federate of `site` and drive them to the stop time; returns steps per federate.

    With direct routing its federates' data goes straight to the hosts that use it, through this host's
    Peer service on `listen` (others connect to `advertise`, default the address it bound), unless the
    site `accepts` no connection: then its channels go through the RTI."""
    check_tunable(scenario, site)  # before anything leaves this machine
    if not any(spec.site == site for spec in scenario.federates.values()):
        sites = scenario.sites()
        raise ConfigurationError(f"scenario {scenario.path} has no federate owned by site {site!r}; "
                         f"its sites are {', '.join(sites)}")
    federates: list[Federate] = []
    transport = open_session(scenario, site, target, wait, creds, listen if accepts else None, advertise)
    conn = transport.conn
    try:
        try:
            federates.extend(build_federates(scenario, sites=[site]))
        except FederationFailed as failed:  # a model that cannot be loaded: the federation learns why
            log.error("%s", failed)
            conn.abort(0, failed.reason, failed.federate)
            raise
        by_handle = {}
        for fed in federates:
            amb = RTIAmbassador(transport, fed.name)
            by_handle[amb.handle] = fed
            fed.start(amb)

        def report(handle: int, failure: FederationFailed) -> None:
            # Logged first: the coordinator may stop this process as soon as the RTI has the verdict.
            log.error("%s", failure)
            conn.abort(handle, failure.reason, at=failure.time)

        try:
            drive(by_handle, lambda: transport.take_ready(0.5), transport.drain, lambda: None, report)
        except FederationEnded as ended:  # a model asked to end the run, and the recorder has it: stop here
            log.info("%s", ended)
        return {f.name: getattr(f, "steps", 0) for f in federates}
    finally:
        for fed in federates:
            try:
                fed.close()
            except Exception:
                log.exception("closing federate %s failed", fed.name)
        try:
            transport.close()
        finally:
            conn.close()
