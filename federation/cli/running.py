"""Commands that run a federation: validate, run (embedded, grpc, ray), coordinate, policy and sweep."""

from __future__ import annotations

import json
import math
import signal
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from federation.errors import FederationError
from federation.runtime.modes import MODES, check_routing, run_mode, run_relay_sites

from federation.cli.common import (app, check_tls_matches, err, error, load_cli_scenario, overrides_of, read_value,
                                   results_dir, site_credentials, warn_insecure)


@app.command()
def validate(
    scenario: Path,
    no_exec: bool = typer.Option(False, "--no-exec", help="run no model code: import no python: module and load no FMU binary; say what was left unchecked"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also list each connection's unit conversion, and the values taken as is (a side declares no unit)"),
) -> None:
    """Check a scenario file and print every problem at once (and warnings), then what each site shares.

    To check the models, it imports python: modules and loads FMU binaries (in a child process): that runs their code.

    Use --no-exec for a scenario or models you do not trust: every other check is made.
    """
    from federation.scenario import format_problems
    from federation.scenario.units import unit_notes

    sc = load_cli_scenario(scenario, run_code=not no_exec)
    notes = sc.recording_notes()
    if notes:
        err.print(f"[yellow]warning[/yellow]\n{escape(format_problems(sc.path, notes))}", highlight=False,
                  soft_wrap=True)
    if sc.unchecked:
        err.print(f"[yellow]not checked[/yellow]\n{escape(format_problems(sc.path, sc.unchecked))}", highlight=False,
                  soft_wrap=True)
    typer.echo(f"{scenario}: OK ({len(sc.federates)} federates, {len(sc.connections)} connections)")
    typer.echo("shared by each site (what leaves its host):")
    for site, federates in sc.shared().items():
        parts = [f"{', '.join(f'{name}.{var}' for var in outputs) or f'nothing of {name}'} ({sc.exposure_rule(name)})"
                 for name, outputs in federates.items()]
        parts += [f"{name} sends {iname}({', '.join(spec.parameters)})" for iname, spec in sc.interactions.items()
                  for name in spec.publishers if name in federates]
        typer.echo(f"  {site}: {'; '.join(parts)}")
    if verbose and (notes := unit_notes(enumerate(sc.connections), sc.interfaces)):
        typer.echo("units:")
        typer.echo("\n".join(f"  {note.key}: {note.message}" for note in notes))


ROUTING_HELP = ("grpc/ray: direct (each host sends its values straight to the hosts that take them; the default) or "
                "relay (every value through the RTI)")
RELAY_SITE_HELP = ("a site that accepts no connection (behind NAT or a firewall): its values go through the RTI; "
                   "repeatable, added to the scenario's relay_sites")


@app.command()
def run(
    scenario: Path,
    out: Optional[Path] = typer.Option(None, "--out", help="results folder (default: the scenario's output.dir)"),
    stop: Optional[float] = typer.Option(None, "--stop", help="override time.stop (s)"),
    settings: Optional[list[str]] = typer.Option(None, "--set", help="override a parameter, e.g. furnace.T_set=1200"),
    mode: str = typer.Option("embedded", "--mode", help="embedded (one process), grpc (RTI + one host process per site) or ray (one host actor per site, on that site's nodes)"),
    no_plot: bool = typer.Option(False, "--no-plot", help="skip results.png"),
    grant_timeout: Optional[float] = typer.Option(None, "--grant-timeout", help="grpc: seconds without progress before the run stops"),
    address: Optional[str] = typer.Option(None, "--address", help="ray: address of a running Ray cluster (default: start Ray locally)"),
    insecure: bool = typer.Option(False, "--insecure", help="grpc/ray: plaintext, no certificates (default: mTLS with throw-away certificates)"),
    force: bool = typer.Option(False, "--force", help="overwrite the results folder of an earlier run (a folder holding anything else is refused)"),
    routing: Optional[str] = typer.Option(None, "--routing", help=ROUTING_HELP),
    relay_site: Optional[list[str]] = typer.Option(None, "--relay-site", help=RELAY_SITE_HELP),
) -> None:
    """Run a federation and write results.csv, results.png and run.json (grpc/ray: also audit.jsonl, policy.yaml)
    into a new or empty folder, or over an earlier run's with --force."""
    if mode not in MODES:
        err.print(f"[red]unknown mode {escape(repr(mode))}; use {', '.join(MODES)}[/red]")
        raise typer.Exit(2)
    if mode == "embedded" and (routing is not None or relay_site):
        error(f"{'--routing' if routing is not None else '--relay-site'} is for --mode grpc and ray: an embedded "
              "run is one process, whose values travel no network")
        raise typer.Exit(2)
    checked_routing = check_routing(routing or "direct")
    _check_grant_timeout(grant_timeout)
    from federation.security.certs import COORDINATOR_SITE, remove_stale_throwaways

    remove_stale_throwaways()  # of killed runs; a grpc or ray run would look again before it makes its own
    # On Ray each site's host validates its own models on its own nodes (their platform, their
    # files): the coordinator holds no site's models, like a grpc host of another site.
    sc = load_cli_scenario(scenario, stop, settings, site=COORDINATOR_SITE if mode == "ray" else None)
    relay = run_relay_sites(sc, relay_site or (), "--relay-site")
    out_dir = results_dir(out or sc.output.dir, force=force)
    _with_progress(sc, out_dir, "federation-run", mode,
                   lambda tick: run_mode(mode, sc, out_dir, tick, not no_plot, grant_timeout, address, insecure,
                                         checked_routing, relay))


def _check_grant_timeout(grant_timeout: Optional[float]) -> None:
    if grant_timeout is not None and not (math.isfinite(grant_timeout) and grant_timeout > 0):
        error(f"--grant-timeout must be a number of seconds above 0, got {grant_timeout}")
        raise typer.Exit(2)


def _with_progress(sc: Any, out_dir: Path, service: str, mode: str, body: Any) -> None:
    """Run `body(tick)` with a progress bar, ending like `run` however it ends: results kept, the error's
    exit code on failure (federation.errors), 130 when interrupted (Ctrl-C or SIGTERM)."""
    from federation import telemetry
    from federation.rti.time import to_seconds

    telemetry.setup(service, out_dir / "telemetry")
    span = sc.time.stop - sc.time.start
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[t]}"), TimeRemainingColumn(),
        console=console, disable=not console.is_terminal, transient=True,
    ) as progress:
        task = progress.add_task(sc.federation, total=span, t="")
        last = [0.0]

        def tick(t: int) -> None:
            s = to_seconds(t) - sc.time.start
            if s - last[0] >= span / 200 or s >= span:
                last[0] = s
                progress.update(task, completed=s, t=f"t={to_seconds(t):g} s")

        # Terminated (kill, a CI job's timeout) ends like Ctrl-C: results and run.json kept, hosts and
        # RTI stopped, throw-away certificates deleted; the default would skip all of that.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        previous_record = _run_record(out_dir)
        try:
            with telemetry.span("federation.runtime", federation=sc.federation, mode=mode):
                result = body(tick)
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted; results so far are in {escape(str(out_dir))}[/yellow]")
            raise typer.Exit(130) from None
        except FederationError as exc:
            err.print(f"[red]run failed:[/red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
            if _completed_a_step(_run_record(out_dir), previous_record, sc.time.start):
                err.print(f"results up to the last completed step are in {escape(str(out_dir))}")
            else:
                err.print(f"it failed before its first step (t={sc.time.start:g} s): no step was completed")
            raise typer.Exit(exc.exit_code) from None
    typer.echo(f"{sc.federation}: completed {sc.time.stop - sc.time.start:g} s in {result.wall_time:.2f} s wall -> {out_dir}")


def _run_record(out_dir: Path) -> bytes | None:
    try:
        return (out_dir / "run.json").read_bytes()
    except OSError:
        return None


def _completed_a_step(record: bytes | None, previous: bytes | None, start: float) -> bool:
    """Whether a failed run got past its start, by the run.json it wrote (none, or the one a previous run
    left: it stopped before recording anything)."""
    if record is None or record == previous:
        return False
    try:
        info = json.loads(record)
        return bool(info["last_time_s"] > start or any(info.get("steps", {}).values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        return True  # unreadable: do not claim that nothing ran


@app.command()
def coordinate(
    scenario: Path,
    rti: str = typer.Option(..., "--rti", help="HOST:PORT of the RTI (federation rti serve)"),
    out: Optional[Path] = typer.Option(None, "--out", help="results folder (default: the scenario's output.dir)"),
    tls: Optional[Path] = typer.Option(None, "--tls", help="certificate directory holding ca.pem and sites/coordinator.pem/.key: mutual TLS"),
    stop: Optional[float] = typer.Option(None, "--stop", help="override time.stop (s); every host must be given the same"),
    settings: Optional[list[str]] = typer.Option(None, "--set", help="override time.<field> (every host must be given the same); parameters are set on their site's host"),
    grant_timeout: Optional[float] = typer.Option(None, "--grant-timeout", help="seconds without progress before the run stops (default: the RTI's)"),
    join_timeout: float = typer.Option(300.0, "--join-timeout", help="seconds to wait for every site to join and declare"),
    no_plot: bool = typer.Option(False, "--no-plot", help="skip results.png"),
    force: bool = typer.Option(False, "--force", help="overwrite the results folder of an earlier run (a folder holding anything else is refused)"),
    routing: Optional[str] = typer.Option(None, "--routing", help=ROUTING_HELP.removeprefix("grpc/ray: ")),
    relay_site: Optional[list[str]] = typer.Option(None, "--relay-site", help=RELAY_SITE_HELP),
    listen: str = typer.Option("127.0.0.1:0", "--listen", help="HOST:PORT where the recorder's Peer service listens for the hosts' channels (direct routing)"),
    advertise: Optional[str] = typer.Option(None, "--advertise", help="HOST:PORT the hosts dial to reach the recorder (default: --listen as bound)"),
) -> None:
    """Create the federation on a running RTI, wait for every site's `federation host`, and record the run
    (results.csv, results.png, run.json, audit.jsonl), as `run --mode grpc` does on one machine."""
    from federation.security.certs import COORDINATOR_SITE

    _check_grant_timeout(grant_timeout)
    checked_routing = check_routing(routing or "direct")
    if not (math.isfinite(join_timeout) and join_timeout > 0):
        error(f"--join-timeout must be a number of seconds above 0, got {join_timeout}")
        raise typer.Exit(2)
    overrides = overrides_of(stop, settings)
    parameters = sorted(key for key in overrides if not key.startswith("time."))
    if parameters:
        error(f"--set {parameters[0]}: the coordinator runs no federate; a parameter is set by its site "
               f"(federation host SCENARIO --site SITE --set {parameters[0]}=...)")
        raise typer.Exit(2)
    creds = site_credentials(tls, COORDINATOR_SITE)
    if creds is None:
        warn_insecure()
    check_tls_matches(rti, creds)
    # The coordinator holds no site's model: like a host of another site, it trusts the expose lists.
    sc = load_cli_scenario(scenario, stop, settings, site=COORDINATOR_SITE)
    relay = run_relay_sites(sc, relay_site or (), "--relay-site")
    try:
        from federation.runtime.launch import checked_address

        listen = checked_address(listen, "--listen", dialled=False)
        advertise = None if advertise is None else checked_address(advertise, "--advertise", dialled=True)
    except ValueError as exc:
        error(str(exc))
        raise typer.Exit(2) from None
    out_dir = results_dir(out or sc.output.dir, force=force)

    def body(tick: Any) -> Any:
        from federation.runtime.coordinator import run_coordinator

        return run_coordinator(sc, out_dir, rti, creds, tick, plot=not no_plot, grant_timeout=grant_timeout,
                               join_timeout=join_timeout, routing=checked_routing, relay_sites=relay,
                               listen=listen, advertise=advertise)

    _with_progress(sc, out_dir, "federation-coordinate", "grpc", body)


@app.command()
def policy(
    scenario: Path,
    out: Optional[Path] = typer.Option(None, "--out", help="write the policy to this file (default: print it)"),
) -> None:
    """Print the authorization policy a run derives from the scenario (for `rti serve --policy`): each site
    joins as its federates, data flows as connected, the coordinator creates the federation and records."""
    from federation.results.recorder import RECORDER
    from federation.security.certs import COORDINATOR_SITE
    from federation.security.policy import from_scenario

    sc = load_cli_scenario(scenario, site=COORDINATOR_SITE)
    text = from_scenario(sc, COORDINATOR_SITE, RECORDER).to_yaml()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text)
    except OSError as exc:
        error(f"cannot write the policy to {out}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    typer.echo(f"{out}: policy of federation {sc.federation} (sites {', '.join(sc.sites())}, "
               f"and {COORDINATOR_SITE})")


@app.command()
def sweep(
    scenario: Path,
    params: list[str] = typer.Option(..., "--param", help="fed.param=V1,V2,... (grid; YAML values, 1e3 is a number, other text a string) or fed.param=LO..HI (with --samples: whole numbers for an Integer parameter)"),
    samples: Optional[int] = typer.Option(None, "--samples", help="K Monte Carlo draws instead of every combination"),
    seed: int = typer.Option(0, "--seed", help="random seed for --samples"),
    mode: str = typer.Option("ray", "--mode", help="ray (runs in parallel) or embedded (one after the other, in-process)"),
    address: Optional[str] = typer.Option(None, "--address", help="ray: address of a running Ray cluster (default: start Ray locally)"),
    out: Optional[Path] = typer.Option(None, "--out", help="sweep folder: new, empty or an earlier sweep's (default: the scenario's output.dir + '-sweep')"),
    stop: Optional[float] = typer.Option(None, "--stop", help="override time.stop (s) for every run"),
    settings: Optional[list[str]] = typer.Option(None, "--set", help="override a parameter for every run"),
    force: bool = typer.Option(False, "--force", help="run every run again, even one whose folder holds a completed run with identical inputs"),
    plot: bool = typer.Option(False, "--plot", help="write results.png for every run"),
) -> None:
    """Run a parameter sweep: one federation execution per combination (or sample), plus summary.csv."""
    from federation.sweeps import MODES, check_specs, expand, integer_parameters, parse_param, run_sweep

    if mode not in MODES:
        err.print(f"[red]unknown mode {escape(repr(mode))}; use {' or '.join(MODES)}[/red]")
        raise typer.Exit(2)
    sc = load_cli_scenario(scenario, stop, settings)
    parsed = [read_value("--param", p, parse_param, p) for p in params]
    specs = expand(parsed, samples, seed, integer_parameters(sc, [key for key, _ in parsed]))
    checked = check_specs(sc.path, specs, sc.overrides)
    out_dir = results_dir(out or sc.output.dir.with_name(sc.output.dir.name + "-sweep"), "sweep")
    console = Console(stderr=True)
    failed: list[str] = []
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[note]}"), TimeRemainingColumn(),
        console=console, disable=not console.is_terminal, transient=True,
    ) as progress:
        task = progress.add_task(f"sweep {sc.federation}", total=len(specs), note="")

        def on_done(o: Any) -> None:
            if o.status != "completed":
                failed.append(f"{o.name}: {o.error}")
            progress.update(task, advance=1, note=f"{len(failed)} failed" if failed else "")

        try:
            outcomes = run_sweep(sc.path, specs, out_dir, sc.overrides, mode, force, plot, address, None, on_done,
                                 checked)
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted; finished runs are in {escape(str(out_dir))}[/yellow]")
            raise typer.Exit(130) from None
        except FederationError as exc:
            err.print(f"[red]sweep failed:[/red] {escape(str(exc))}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None
    for line in failed:
        err.print(f"[red]failed[/red] {escape(line)}", highlight=False)
    again = Counter(o.reason for o in outcomes if not o.skipped and o.reason)
    for reason, count in again.items():
        err.print(f"run again ({escape(reason)}): {count} run{'s' * (count != 1)}", highlight=False, soft_wrap=True)
    reused = sum(o.skipped for o in outcomes)
    completed = sum(o.status == "completed" for o in outcomes)
    typer.echo(f"{sc.federation}: {len(outcomes)} runs, {completed} completed ({reused} reused: identical inputs), "
               f"{len(outcomes) - completed} failed -> {out_dir / 'summary.csv'}")
    if failed:
        raise typer.Exit(1)
