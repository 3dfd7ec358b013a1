"""`federation run --mode ray`: one Ray actor per site host, pinned to that site's nodes.

Placement: a node that may run a site's federates advertises the custom resource
`site:<site>` (e.g. `ray start --resources '{"site:utility": 100}'`). Each host actor
asks for a sliver of its site's resource and nothing else, so Ray can only place it on
such a node. The actor receives the scenario *path* and its overrides, loads the scenario
and its site's FMUs from that node's own disk and runs `run_host` there: FMU bytes never
enter Ray's object store nor reach the driver.

Data path: the driver runs the RTI gRPC service in-process (listening on the driver
node's IP) and the recorder; per-step data flows host <-> RTI over the RTI protocol,
exactly as in `--mode grpc`. Ray only places, starts and supervises the hosts. A host
that dies (node lost, process killed) ends its gRPC stream or stops its heartbeats, and
the RTI's failure handling stops the run naming the federate; results are kept.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from typing import TYPE_CHECKING

from federation import telemetry
from federation.errors import FederationFailed, RunFailure
from federation.results.recorder import Recorder
from federation.rti.time import LogicalTime
from federation.scenario import Scenario
from federation.security.certs import SiteCredentials
from federation.security.local import RunSecurity, run_security

from federation.runtime.coordinator import COORDINATOR, Coordinator, recorded_grpc_run
from federation.runtime.launch import HostExited, HostOptions, host_accepts
from federation.runtime.modes import Routing, check_routing, run_relay_sites
from federation.runtime.record import RunResult, model_digests
from federation.runtime.processes import quick_thread_switches

if TYPE_CHECKING:
    from federation.server import ServerConfig, ServerHandle

log = logging.getLogger(__name__)

SITE_PREFIX = "site:"
SITE_SHARE = 0.001  # of a site resource per host actor: many runs may share one site node
LOCAL_SITE_AMOUNT = 1000.0  # what a locally started Ray advertises for each site
OBJECT_STORE_BYTES = 100 * 1024 * 1024


class PlacementError(RunFailure, RuntimeError):
    """No live Ray node offers a site's resource: raised before anything starts."""


def site_resource(site: str) -> str:
    return f"{SITE_PREFIX}{site}"


def init_ray(address: str | None = None, sites: Iterable[str] = (), num_cpus: int | None = None) -> None:
    """Connect to Ray at `address`, or start it locally advertising every given site.

    A no-op when Ray is already initialised (a test's cluster, or inside a Ray worker).
    """
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        return
    ray.init(
        num_cpus=num_cpus or os.cpu_count() or 1,
        object_store_memory=OBJECT_STORE_BYTES,
        resources={site_resource(s): LOCAL_SITE_AMOUNT for s in sites},
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )


def site_nodes(sites: Iterable[str]) -> dict[str, list[str]]:
    """For each site, the ids of the live nodes that advertise its site."""
    import ray

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return {o: sorted(n["NodeID"] for n in nodes if n.get("Resources", {}).get(site_resource(o), 0) > 0)
            for o in sites}


def in_ray_task(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a Ray task, with the GIL switch interval the CLI sets (federation.cli.main): a run's
    threads hand messages to each other on every step. A suite's runs use it too."""
    quick_thread_switches()
    return fn(*args)


def pinned_to_every_site(sites: Iterable[str]) -> dict[str, float] | None:
    """Resources that place a task on a node advertising every one of `sites` (where a run may load all of
    its scenario's models: a locally started Ray's node does); None when no node does. A sweep's or a
    suite's runs are tasks placed so."""
    sites = list(sites)
    nodes = site_nodes(sites)
    common = set.intersection(*(set(ids) for ids in nodes.values())) if nodes else set()
    return {site_resource(site): 0.001 for site in sites} if common else None


def check_placement(sites: Iterable[str]) -> dict[str, list[str]]:
    """Fail naming every site that no live node offers."""
    found = site_nodes(sites)
    missing = sorted(o for o, ids in found.items() if not ids)
    if missing:
        names = ", ".join(repr(o) for o in missing)
        raise PlacementError(
            f"no Ray node offers site {names}: start a node of that site with "
            f"`ray start --resources '{{\"{site_resource(missing[0])}\": 100}}'`")
    return found


class HostActor:
    """One site's host, living on one of that site's nodes (wrapped with ray.remote at use)."""

    def __init__(self) -> None:
        quick_thread_switches()

    def where(self) -> dict[str, Any]:
        import ray

        ctx = ray.get_runtime_context()
        return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(), "pid": os.getpid()}

    def run(self, options: HostOptions, creds: SiteCredentials | None = None) -> dict[str, Any]:
        """Load the scenario from this node's disk and run the options' site against the RTI (mTLS with `creds`)."""
        from federation.runtime.host import load_host_scenario, serve_host

        info = self.where()
        scenario = load_host_scenario(options)
        own = [name for name, spec in scenario.federates.items() if spec.site == options.site]
        info["models"] = [str(model.path) for name in own if (model := scenario.model_of(name)).path is not None]
        info["model_sha256"] = model_digests(scenario, own)  # for run.json: the coordinator has none of them
        info["steps"] = serve_host(options, scenario, creds)
        return info


def _host_error(exc: BaseException) -> str:
    """What a host's error says: a remote exception whole (an FMU's log spans lines), else its first line."""
    cause = getattr(exc, "cause", None)  # Ray's RayTaskError keeps the remote exception
    if isinstance(cause, BaseException) and str(cause).strip():
        return str(cause).strip()
    text = str(exc).strip()
    # Ray wraps remote exceptions in a traceback; the last line is the original error.
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1 and type(exc).__name__.startswith("Ray"):
        return lines[-1].strip()
    return lines[0] if lines else type(exc).__name__


class RayLauncher:
    """The RTI served in this (the driver's) process on `ip`, and one host actor per site: what became of them.

    With direct `routing` each host's Peer service listens on its node's IP (hosts are on other nodes), but
    for the `relay_sites`, which accept no connection."""

    def __init__(self, scenario: Scenario, config: ServerConfig, sec: RunSecurity, wait: float,
                 routing: Routing = "direct", relay_sites: Iterable[str] = ()) -> None:
        self.scenario, self.config, self.sec, self.wait = scenario, config, sec, wait
        self.routing, self.relay_sites = routing, frozenset(relay_sites)
        self.actors: dict[str, Any] = {}
        self.runs: dict[str, Any] = {}
        self.infos: dict[str, dict[str, Any]] = {}
        self.where: dict[str, dict[str, Any]] = {}
        self.stopped = False
        self.server: ServerHandle | None = None

    def start_rti(self) -> str:
        from federation.server import start

        self.server = start(self.config)  # beyond loopback in insecure mode, it warns that it serves plaintext
        return self.server.address

    def start_hosts(self, target: str) -> None:
        traceparent = telemetry.carrier().get("traceparent")
        for site in self.scenario.sites():
            actor, info = _site_actor(site)
            self.actors[site] = actor
            self.where[site] = info
            options = HostOptions.of(self.scenario, site, target, wait=self.wait, traceparent=traceparent,
                                     listen=f"{_host_of(info['node_ip'])}:0",
                                     accepts=host_accepts(self.routing, self.relay_sites, site))
            # Each actor gets its own site's certificate and key, nothing else.
            self.runs[site] = actor.run.remote(options, self.sec.credentials(site))

    def federates_of(self, site: str) -> list[str]:
        return [n for n, s in self.scenario.federates.items() if s.site == site]

    def errors(self, timeout: float = 0.0) -> dict[str, str]:
        """Sites whose host has ended with an error (actor died, or run_host raised)."""
        import ray

        refs = {ref: site for site, ref in self.runs.items() if site not in self.infos}
        if refs:
            done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
            for ref in done:
                self._collect(refs[ref], ref)
        return {site: info["error"] for site, info in sorted(self.infos.items()) if "error" in info}

    def _collect(self, site: str, ref: Any, timeout: float | None = None) -> None:
        """What site's host run returned, or the error it ended with (never raised here)."""
        import ray

        try:
            self.infos[site] = ray.get(ref, timeout=timeout)
        except FederationFailed as exc:  # the verdict handed back: nothing of its own to add
            self.infos[site] = {"error": _host_error(exc), "echo": True}
        except Exception as exc:
            self.infos[site] = {"error": _host_error(exc)}

    def reports(self) -> str:
        """What the hosts that ended with an error said, besides echoing the federation's verdict."""
        return "".join(f"; host of site {site!r} reported: {info['error']}"
                       for site, info in sorted(self.infos.items()) if "error" in info and not info.get("echo"))

    def check(self) -> None:
        errors = self.errors()
        if errors:
            site, reason = sorted(errors.items())[0]
            raise HostExited(f"host of site {site!r} (federates {self.federates_of(site)}) failed: {reason}")

    def explain(self, failure: FederationFailed) -> FederationFailed:
        """The RTI names the federate; a host that raised (say, an FMU rejecting a parameter) usually
        knows why, so let the hosts end on the verdict and add their own words."""
        self.stop_hosts(grace=5.0)
        extra = self.reports()
        if not extra:
            return failure
        return FederationFailed(failure.federate, failure.host, failure.time, failure.reason + extra, failure.reported)

    def stop(self, result: RunResult) -> None:
        """Stop the RTI, then the hosts (they normally end with the federation); record steps and placement."""
        try:
            if self.server is not None:
                self.server.stop(grace=0.5).wait()  # and closes its audit log
            self.stop_hosts(grace=5.0)
        finally:
            result.extra["placement"] = _placement({site: {**where, **self.infos.get(site, {})}
                                                    for site, where in self.where.items()})
            result.extra["models"] = {name: files for info in self.infos.values()
                                      for name, files in info.get("model_sha256", {}).items()}

    def finish(self, timeout: float = 30.0) -> None:
        for site, ref in self.runs.items():
            if site not in self.infos:
                self._collect(site, ref, timeout)
            if "error" in self.infos[site]:
                raise HostExited(f"host of site {site!r} failed: {self.infos[site]['error']}")

    def steps(self) -> dict[str, int]:
        return {k: v for info in self.infos.values() for k, v in info.get("steps", {}).items()}

    def stop_hosts(self, grace: float) -> None:
        """Hosts normally end with the federation (the RTI tells every session when it fails).

        A host still running `grace` seconds later (stuck in an FMU step, or cut off) is killed
        with its actor, which the next run replaces.
        """
        import ray

        if self.stopped:
            return
        self.stopped = True
        pending = {ref: site for site, ref in self.runs.items() if site not in self.infos}
        if pending:
            done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=grace)
            self.errors()
            for ref, site in pending.items():
                if ref not in done:
                    log.warning("host of site %r did not stop within %g s; killing its actor", site, grace)
                    _drop_site_actor(site, self.actors[site])
        for site, info in self.infos.items():
            if "error" in info and site in self.actors:
                if "actor died" in info["error"].lower() or "ActorDied" in info["error"]:
                    _drop_site_actor(site, self.actors[site])


# One long-lived host actor per site and driver process: starting a Ray worker and
# importing the adapters costs seconds, so runs (e.g. of a sweep) reuse it. Each run is
# one thread of the actor; a dead actor is replaced on the next run.
_SITE_ACTORS: dict[str, Any] = {}
HOST_CONCURRENCY = 16


def _site_actor(site: str, attempts: int = 3) -> tuple[Any, dict[str, Any]]:
    import ray

    actor: Any = _SITE_ACTORS.get(site)
    if actor is not None:
        try:
            where: dict[str, Any] = ray.get(actor.where.remote(), timeout=30)
            return actor, where
        except Exception:  # died (node lost, process killed): start another one
            log.info("host actor of site %r is gone; starting a new one", site, exc_info=True)
            _SITE_ACTORS.pop(site, None)
    for attempt in range(attempts):
        actor = ray.remote(HostActor).options(
            num_cpus=0, resources={site_resource(site): SITE_SHARE}, max_restarts=0, max_task_retries=0,
            max_concurrency=HOST_CONCURRENCY).remote()
        try:
            info: dict[str, Any] = ray.get(actor.where.remote(), timeout=120)
        except ray.exceptions.ActorDiedError:
            # placed on a node that died before Ray noticed: try the site's other nodes
            if attempt + 1 == attempts:
                raise
            check_placement([site])
            continue
        _SITE_ACTORS[site] = actor
        return actor, info
    raise AssertionError("unreachable")


def _drop_site_actor(site: str, actor: Any) -> None:
    import ray

    if _SITE_ACTORS.get(site) is actor:
        _SITE_ACTORS.pop(site, None)
    try:
        ray.kill(actor, no_restart=True)
    except Exception:
        log.debug("killing the host actor of site %r failed", site, exc_info=True)


def shutdown_site_actors() -> None:
    """Kill this process's host actors (e.g. before ray.shutdown)."""
    for site, actor in list(_SITE_ACTORS.items()):
        _drop_site_actor(site, actor)


def run_ray(
    scenario: Scenario,
    out_dir: Path,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
    grant_timeout: float | None = None,
    address: str | None = None,
    join_timeout: float = 60.0,
    heartbeat_timeout: float = 4.0,
    insecure: bool = False,
    routing: str = "direct",
    relay_sites: Iterable[str] = (),
) -> RunResult:
    """Run a scenario with one Ray actor per site host (mTLS unless `insecure`), with `routing` and the run's
    relay sites (the scenario's and `relay_sites`); raises PlacementError before starting."""
    import ray

    from federation.server import Limits, ServerConfig

    checked, relay = check_routing(routing), run_relay_sites(scenario, relay_sites)
    sites = scenario.sites()
    init_ray(address, sites)
    check_placement(sites)

    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    ip = ray.util.get_node_ip_address()
    limits = Limits(heartbeat_timeout=heartbeat_timeout, grant_timeout=grant_timeout or Limits().grant_timeout)
    with run_security(scenario, out_dir, "ray", insecure, [ip]) as sec:
        config = ServerConfig(listen=f"{ip}:0", limits=limits, tls=sec.certs.root if sec.certs else None,
                              policy=sec.policy, audit=sec.audit_path, insecure=insecure, gate=False)
        launcher = RayLauncher(scenario, config, sec, join_timeout, checked, relay)
        coordinator = Coordinator(scenario, launcher, sec.credentials(COORDINATOR), grant_timeout, join_timeout,
                                  checked, relay, listen=f"{_host_of(ip)}:0")  # hosts on other nodes dial the recorder

        def body(recorder: Recorder, result: RunResult) -> None:
            coordinator.run(recorder, result)
            result.steps = launcher.steps()

        return recorded_grpc_run(scenario, out_dir, sec, on_progress, plot, body, mode="ray")


def _host_of(ip: str) -> str:
    """An IP as the host part of HOST:PORT (an IPv6 address in brackets)."""
    return f"[{ip}]" if ":" in ip else ip


def _placement(infos: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Where each site's host ran: node id, IP, pid, FMU paths (on that node) or its error."""
    return {site: {k: v for k, v in info.items() if k not in ("steps", "model_sha256")}
            for site, info in sorted(infos.items())}
