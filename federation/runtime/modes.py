"""The three ways to run a scenario, behind one call: embedded, grpc (processes on this machine) or ray;
and the two routings of the distributed ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from federation.errors import ConfigurationError
from federation.rti.time import LogicalTime
from federation.runtime.record import RunResult
from federation.scenario import Scenario
from federation.scenario.rules import relay_site_problem

Mode = Literal["embedded", "grpc", "ray"]
MODES: tuple[Mode, ...] = ("embedded", "grpc", "ray")
# How a distributed run's values travel: host to host (direct), or every value through the RTI (relay).
Routing = Literal["direct", "relay"]
ROUTINGS: tuple[Routing, ...] = ("direct", "relay")


def check_routing(routing: str) -> Routing:
    """`routing` when it is one of ROUTINGS; ConfigurationError naming it otherwise."""
    for known in ROUTINGS:
        if routing == known:
            return known
    raise ConfigurationError(f"unknown routing {routing!r}; use {' or '.join(ROUTINGS)}")


def run_relay_sites(scenario: Scenario, extra: Iterable[str] = (), given_as: str = "relay_sites") -> tuple[str, ...]:
    """The run's relay sites (they accept no connection: their channels go through the RTI): the scenario's
    `relay_sites:`, then `extra` (`--relay-site`, the API's relay_sites), each once. ConfigurationError
    naming an extra site (`given_as` says how it was given) that is not a site of the scenario."""
    if isinstance(extra, str):  # its letters are no sites
        raise ConfigurationError(f"{given_as}: expected a list of sites, got the string {extra!r}")
    extra = list(extra)
    for site in extra:
        if (problem := relay_site_problem(scenario.spec, site)) is not None:
            raise ConfigurationError(f"{given_as}: {problem}")
    return tuple(dict.fromkeys([*scenario.relay_sites, *extra]))


def run_mode(mode: str, scenario: Scenario, out_dir: Path, on_progress: Callable[[LogicalTime], None] | None = None,
             plot: bool = True, grant_timeout: float | None = None, address: str | None = None,
             insecure: bool = False, routing: str = "direct", relay_sites: Iterable[str] = ()) -> RunResult:
    """Run a validated scenario into a claimed folder (imported on use: grpc and Ray are heavy to import).

    `routing` and `relay_sites` (added to the scenario's) are for grpc and ray; an embedded run, which has
    no network, checks and ignores them."""
    checked = check_routing(routing)
    relay = run_relay_sites(scenario, relay_sites)
    if mode == "ray":
        from federation.runtime.ray import run_ray

        return run_ray(scenario, out_dir, on_progress, plot=plot, grant_timeout=grant_timeout, address=address,
                       insecure=insecure, routing=checked, relay_sites=relay)
    if mode == "grpc":
        from federation.runtime.local import run_grpc

        return run_grpc(scenario, out_dir, on_progress, plot=plot, grant_timeout=grant_timeout, insecure=insecure,
                        routing=checked, relay_sites=relay)
    if mode != "embedded":
        raise ConfigurationError(f"unknown mode {mode!r}; use {', '.join(MODES)}")
    from federation.runtime.embedded import run_embedded

    return run_embedded(scenario, out_dir, on_progress, plot=plot)
