"""The `federation` command: a thin typer shell over scenario, runtime and adapters."""

from __future__ import annotations

import json
import logging
import math
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperGroup

from federation.errors import FederationError

err = Console(stderr=True)


def _error(message: object) -> None:
    """An error message in red, printed verbatim: brackets in it (units like [s]) are text."""
    err.print(f"[red]{escape(str(message))}[/red]", highlight=False, soft_wrap=True)


def _report(exc: FederationError) -> None:
    """A FederationError as the user sees it: its message (under a heading for a list of problems)."""
    from federation.scenario import ScenarioError

    if isinstance(exc, ScenarioError):
        err.print(f"[red]invalid scenario[/red]\n{escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
    else:
        _error(exc)


class _Commands(TyperGroup):
    """The command group: the one place where an error becomes an exit code (federation.errors).

    A FederationError that a command lets through is reported and ends the command with its branch's
    exit code: 2 for a configuration error, 1 for a model error or a run failure. Anything else is a
    bug, and keeps its traceback."""

    def invoke(self, ctx: Any) -> Any:  # click's Context, which newer typers bundle as their own
        try:
            return super().invoke(ctx)
        except FederationError as exc:
            _report(exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True,
                  help="Federated, HLA-style co-simulation of FMU digital twins.")


def _overrides(stop: Optional[float], settings: Optional[list[str]]) -> dict[str, object]:
    """`--stop` and `--set key=value` as scenario overrides (values read by sweep.parse_value)."""
    from federation.sweeps.runner import parse_value, split_setting

    out: dict[str, object] = {}
    for item in settings or []:
        key, value = split_setting(item, "--set", "KEY=VALUE")
        out[key] = _read_value("--set", item, parse_value, value)
    if stop is not None:
        out["time.stop"] = stop
    return out


def _read_value(option: str, given: str, parse: Any, text: str) -> Any:
    """parse(text); exit 2 naming the option when Python refuses to read a number that long (4,300 digits)."""
    try:
        return parse(text)
    except ValueError as exc:
        from federation.clip import clip

        if isinstance(exc, FederationError):  # a SweepError names the problem itself
            raise
        _error(f"{option} {clip(given, 60)}: a number with more digits than any number this tool uses "
               "(the largest is about 1.8e+308)")
        raise typer.Exit(2) from None


def _load(scenario: Path, stop: Optional[float] = None, settings: Optional[list[str]] = None,  # type: ignore[no-untyped-def]
          site: Optional[str] = None, run_code: bool = True):
    from federation.scenario import load_scenario

    return load_scenario(scenario, _overrides(stop, settings) or None, site=site, run_code=run_code)


def _results_dir(path: Path, kind: str = "run", force: bool = False) -> Path:
    """The folder, absolute and ready for a run or a sweep (federation.runtime.outputs: a new or empty folder,
    or an earlier run's with --force, an earlier sweep's); OutputRefused naming it and what is in it otherwise."""
    from federation.runtime.outputs import claim_output

    return claim_output(path, "sweep" if kind == "sweep" else "run", force)


@app.command()
def validate(
    scenario: Path,
    no_exec: bool = typer.Option(False, "--no-exec", help="run no model code: import no python: module and load no FMU binary; say what was left unchecked"),
) -> None:
    """Check a scenario file and print every problem at once (and warnings), then what each site shares.

    To check the models, it imports python: modules and loads FMU binaries (in a child process): that runs their code.

    Use --no-exec for a scenario or models you do not trust: every other check is made.
    """
    from federation.scenario import format_problems

    sc = _load(scenario, run_code=not no_exec)
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
) -> None:
    """Run a federation and write results.csv, results.png and run.json (grpc/ray: also audit.jsonl, policy.yaml)
    into a new or empty folder, or over an earlier run's with --force."""
    if mode not in ("embedded", "grpc", "ray"):
        err.print(f"[red]unknown mode {escape(repr(mode))}; use embedded, grpc or ray[/red]")
        raise typer.Exit(2)
    _check_grant_timeout(grant_timeout)
    from federation.security.certs import COORDINATOR_SITE, remove_stale_throwaways

    remove_stale_throwaways()  # of killed runs; a grpc or ray run would look again before it makes its own
    # On Ray each site's host validates its own models on its own nodes (their platform, their
    # files): the coordinator holds no site's models, like a grpc host of another site.
    sc = _load(scenario, stop, settings, site=COORDINATOR_SITE if mode == "ray" else None)
    out_dir = _results_dir(out or sc.output.dir, force=force)
    _with_progress(sc, out_dir, "federation-run", mode,
                   lambda tick: _run_mode(mode, sc, out_dir, tick, not no_plot, grant_timeout, address, insecure))


def _check_grant_timeout(grant_timeout: Optional[float]) -> None:
    if grant_timeout is not None and not (math.isfinite(grant_timeout) and grant_timeout > 0):
        _error(f"--grant-timeout must be a number of seconds above 0, got {grant_timeout}")
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


def _run_mode(mode: str, sc: Any, out_dir: Path, tick: Any, plot: bool, grant_timeout: Optional[float],
              address: Optional[str] = None, insecure: bool = False) -> Any:
    if mode == "ray":
        from federation.runtime.ray import run_ray

        return run_ray(sc, out_dir, tick, plot=plot, grant_timeout=grant_timeout, address=address, insecure=insecure)
    if mode == "grpc":
        from federation.runtime.local import run_grpc

        return run_grpc(sc, out_dir, tick, plot=plot, grant_timeout=grant_timeout, insecure=insecure)
    from federation.runtime.embedded import run_embedded

    return run_embedded(sc, out_dir, tick, plot=plot)


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
) -> None:
    """Create the federation on a running RTI, wait for every site's `federation host`, and record the run
    (results.csv, results.png, run.json, audit.jsonl), as `run --mode grpc` does on one machine."""
    from federation.security.certs import COORDINATOR_SITE

    _check_grant_timeout(grant_timeout)
    if not (math.isfinite(join_timeout) and join_timeout > 0):
        _error(f"--join-timeout must be a number of seconds above 0, got {join_timeout}")
        raise typer.Exit(2)
    overrides = _overrides(stop, settings)
    parameters = sorted(key for key in overrides if not key.startswith("time."))
    if parameters:
        _error(f"--set {parameters[0]}: the coordinator runs no federate; a parameter is set by its site "
               f"(federation host SCENARIO --site SITE --set {parameters[0]}=...)")
        raise typer.Exit(2)
    creds = _site_credentials(tls, COORDINATOR_SITE)
    if creds is None:
        _warn_insecure()
    _check_tls_matches(rti, creds)
    # The coordinator holds no site's model: like a host of another site, it trusts the expose lists.
    sc = _load(scenario, stop, settings, site=COORDINATOR_SITE)
    out_dir = _results_dir(out or sc.output.dir, force=force)

    def body(tick: Any) -> Any:
        from federation.runtime.coordinator import run_coordinator

        return run_coordinator(sc, out_dir, rti, creds, tick, plot=not no_plot, grant_timeout=grant_timeout,
                               join_timeout=join_timeout)

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

    sc = _load(scenario, site=COORDINATOR_SITE)
    text = from_scenario(sc, COORDINATOR_SITE, RECORDER).to_yaml()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text)
    except OSError as exc:
        _error(f"cannot write the policy to {out}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    typer.echo(f"{out}: policy of federation {sc.federation} (sites {', '.join(sorted({s.site for s in sc.federates.values()}))}, "
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
    from federation.sweeps.runner import MODES, check_specs, expand, integer_parameters, parse_param, run_sweep

    if mode not in MODES:
        err.print(f"[red]unknown mode {escape(repr(mode))}; use {' or '.join(MODES)}[/red]")
        raise typer.Exit(2)
    sc = _load(scenario, stop, settings)
    parsed = [_read_value("--param", p, parse_param, p) for p in params]
    specs = expand(parsed, samples, seed, integer_parameters(sc, [key for key, _ in parsed]))
    checked = check_specs(sc.path, specs, sc.overrides)
    out_dir = _results_dir(out or sc.output.dir.with_name(sc.output.dir.name + "-sweep"), "sweep")
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


rti_app = typer.Typer(no_args_is_help=True, help="The RTI as a network service.")
app.add_typer(rti_app, name="rti")


@rti_app.command("serve")
def rti_serve(
    listen: str = typer.Option("127.0.0.1:50051", "--listen", help="HOST:PORT (port 0 picks a free one)"),
    grant_timeout: float = typer.Option(6.0, "--grant-timeout", help="seconds without a time advance before a federation fails"),
    heartbeat_timeout: float = typer.Option(4.0, "--heartbeat-timeout", help="seconds of host silence before a federation fails"),
    max_message_bytes: int = typer.Option(4 * 1024 * 1024, "--max-message-bytes"),
    tls: Optional[Path] = typer.Option(None, "--tls", help="certificate directory (federation certs init): mutual TLS"),
    policy: Optional[Path] = typer.Option(None, "--policy", help="authorization policy YAML (default: none, every client may do anything)"),
    audit: Optional[Path] = typer.Option(None, "--audit", help="audit log, JSON Lines (default: ~/.local/state/federation/rti-audit.jsonl)"),
    limit: list[str] = typer.Option([], "--limit", help="NAME=VALUE: any other service limit (federation.server.Limits), e.g. max_batch_messages=8192; repeatable"),
    insecure: bool = typer.Option(False, "--insecure", help="without --tls, listen beyond loopback anyway (plaintext, claimed identities)"),
    gate: bool = typer.Option(True, "--gate/--no-gate", help="accept connections through the connection gate, which caps them per peer address (--limit max_connections_per_address=16), in all (max_connections=1024) and closes silent ones (silent_connection_timeout=3); --no-gate: gRPC accepts them itself, uncapped"),
    ready_file: Optional[Path] = typer.Option(None, "--ready-file", help="once listening, write {\"listen\": \"HOST:PORT\", \"port\": N, \"pid\": N} there as JSON (atomically), for a parent process"),
) -> None:
    """Serve the RTI, admin and health services until SIGTERM or Ctrl-C."""
    import threading
    from dataclasses import replace

    from federation import telemetry
    from federation.server import Limits, ServerConfig, ServerStartError, start, with_limits, write_ready_file

    config = ServerConfig(listen=listen, tls=tls, policy=policy, insecure=insecure, gate=gate,
                          audit=audit or _state_dir() / "rti-audit.jsonl")
    try:
        config.check()
        # The options go through the same checks as --limit, which comes after them and so wins.
        config = replace(config, limits=with_limits(Limits(), [
            f"max_message_bytes={max_message_bytes}", f"heartbeat_timeout={heartbeat_timeout}",
            f"grant_timeout={grant_timeout}", *limit]))
    except (ValueError, ServerStartError) as exc:
        _error(exc)
        raise typer.Exit(2) from None
    telemetry.setup("federation-rti")
    try:
        server = start(config)
    except ServerStartError as exc:
        _error(exc)
        raise typer.Exit(2) from None
    if tls is None:
        _warn_insecure()
    try:
        if ready_file is not None:
            write_ready_file(ready_file, server)
    except OSError as exc:
        server.stop(grace=0).wait()
        _error(f"cannot write --ready-file {ready_file}: {exc}")
        raise typer.Exit(2) from None
    typer.echo(f"RTI listening on {server.address}")
    sys.stdout.flush()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(grace=1.0).wait()  # and closes the audit log


@rti_app.command("status")
def rti_status(
    rti: str = typer.Option("127.0.0.1:50051", "--rti", help="HOST:PORT of the RTI"),
    federation: Optional[str] = typer.Option(None, "--federation", help="only this federation"),
    watch: bool = typer.Option(True, "--watch/--once", help="refresh live until Ctrl-C"),
    interval: float = typer.Option(0.5, "--interval", min=0.05, help="seconds between refreshes (at least 0.05)"),
    tls: Optional[Path] = typer.Option(None, "--tls", help="certificate directory: call as --site over mutual TLS"),
    site: str = typer.Option("coordinator", "--site", help="the site this admin call speaks for"),
) -> None:
    """A live table of federates: logical time, pending request, heartbeat age, traffic."""
    import time

    from rich.live import Live
    from rich.table import Table

    from federation.rti.time import to_seconds
    from federation.server import StatusReader, Unreachable

    creds = _site_credentials(tls, site)
    reader = StatusReader(rti, creds, site)

    def table() -> Table:
        t = Table("federation", "state", "federate", "host", "time [s]", "pending", "heartbeat age [s]", "messages", "bytes")
        for st in reader.read(federation):
            if not st.federates:
                t.add_row(st.name, st.state, "", "", "", "", "", "", "")
            for f in st.federates:
                pending = f"{f.pending}({to_seconds(f.pending_time):g})" if f.pending else ""
                t.add_row(st.name, st.state, f.name, f.host, f"{to_seconds(f.time):g}", pending,
                          f"{f.last_heartbeat_age_s:.1f}", str(f.messages_in), str(f.bytes_in))
        return t

    try:
        if not watch:
            Console().print(table())
            return
        with Live(table(), refresh_per_second=4, console=Console()) as live:
            while True:
                time.sleep(interval)
                live.update(table())
    except Unreachable as exc:
        mismatch = _tls_mismatch(rti, creds) if exc.code == "UNAVAILABLE" else None
        if mismatch:
            _error(f"cannot reach the RTI: {mismatch}")
            raise typer.Exit(2) from None
        err.print(f"[red]cannot reach the RTI at {escape(f'{rti}: {exc}')}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()


@app.command()
def host(
    scenario: Optional[Path] = typer.Argument(None, help="the scenario file (not with --options)"),
    site: Optional[str] = typer.Option(None, "--site", help="the site whose federates this host runs"),
    rti: Optional[str] = typer.Option(None, "--rti", help="HOST:PORT of the RTI"),
    wait: float = typer.Option(30.0, "--wait", help="seconds to wait for the RTI and the federation"),
    stop: Optional[float] = typer.Option(None, "--stop", help="override time.stop (s)"),
    settings: Optional[list[str]] = typer.Option(None, "--set", help="override a parameter, e.g. furnace.T_set=1200"),
    tls: Optional[Path] = typer.Option(None, "--tls", help="certificate directory holding sites/<site>.pem/.key and ca.pem: mutual TLS"),
    options: Optional[Path] = typer.Option(None, "--options", help="all of the above as one JSON file (federation.runtime.launch.HostOptions), as a launcher writes it; nothing else may be given"),
) -> None:
    """Run one site's federates against a remote RTI (their FMUs stay on this machine)."""
    from federation.errors import FederationError, FederationFailed
    from federation.runtime.host import load_host_scenario, serve_host
    from federation.security.tls import channel_credentials

    opts = _host_options(scenario, site, rti, wait, stop, settings, tls, options)
    creds = _site_credentials(opts.tls, opts.site)
    if creds is None:
        _warn_insecure()
    _check_tls_matches(opts.rti, creds)
    sc = load_host_scenario(opts)
    try:
        steps = serve_host(opts, sc, channel_credentials(creds) if creds else None)
    except FederationError as exc:
        from federation.transport.grpc import ConnectionLost

        if not (isinstance(exc, FederationFailed) and exc.reported and exc.host == opts.site):  # else logged already
            # Never joined: the RTI may have come up after this host started, with the other TLS setting.
            mismatch = _tls_mismatch(opts.rti, creds) if isinstance(exc, ConnectionLost) else None
            why = f" ({mismatch})" if mismatch else ""
            err.print(f"[red]host {escape(repr(opts.site))} failed:[/red] {escape(str(exc) + why)}", markup=True,
                      highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(f"site {opts.site}: done ({', '.join(f'{k}: {v} steps' for k, v in steps.items())})")


def _host_options(scenario: Optional[Path], site: Optional[str], rti: Optional[str], wait: float,
                  stop: Optional[float], settings: Optional[list[str]], tls: Optional[Path],
                  options: Optional[Path]) -> Any:
    """The host's HostOptions: read from --options, or built from the other arguments; exit 2 naming what is wrong."""
    from federation.runtime.launch import HostOptions

    if options is not None:
        given = [name for name, value in (("SCENARIO", scenario), ("--site", site), ("--rti", rti), ("--stop", stop),
                                          ("--set", settings), ("--tls", tls)) if value]
        if given:
            _error(f"--options {options} holds every host option; do not give {', '.join(given)} too")
            raise typer.Exit(2)
        try:
            return HostOptions.read(options)
        except ValueError as exc:
            _error(exc)
            raise typer.Exit(2) from None
    missing = [name for name, value in (("SCENARIO", scenario), ("--site", site), ("--rti", rti)) if value is None]
    if missing:
        _error(f"federation host needs {', '.join(missing)} (or --options FILE)")
        raise typer.Exit(2)
    try:
        return HostOptions.model_validate({"scenario": scenario, "site": site, "rti": rti, "tls": tls, "wait": wait,
                                           "overrides": _overrides(stop, settings)})
    except ValueError as exc:
        _error(f"federation host: {exc}")
        raise typer.Exit(2) from None


def _warn_insecure() -> None:
    from federation.security.local import INSECURE_WARNING

    err.print(f"[yellow]warning: {INSECURE_WARNING}[/yellow]", highlight=False, soft_wrap=True)


def _tls_mismatch(rti: str, creds: Any) -> Optional[str]:
    from federation.security.tls import tls_mismatch

    return tls_mismatch(rti, creds is not None)


def _check_tls_matches(rti: str, creds: Any) -> None:
    """Exit 2 at once when the RTI is up and speaks TLS while we would not, or the other way round."""
    mismatch = _tls_mismatch(rti, creds)
    if mismatch:
        _error(mismatch)
        raise typer.Exit(2)


def _state_dir() -> Path:
    import os

    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "federation"


def _site_credentials(tls: Optional[Path], site: str) -> Any:
    """`site`'s certificate and key from a certificate directory (None without --tls); CertificateError naming
    the problem."""
    if tls is None:
        return None
    from federation.security.certs import SiteCredentials

    return SiteCredentials.load(tls, site)


certs_app = typer.Typer(no_args_is_help=True, help="A federation's certificates: CA, RTI server, one per site.")
app.add_typer(certs_app, name="certs")


def _sites(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


@certs_app.command("init")
def certs_init(
    directory: Path,
    federation: str = typer.Option(..., "--federation", help="federation name, written into every certificate"),
    sites: str = typer.Option(..., "--sites", help="comma-separated sites, e.g. utility,furnace_maker,carmaker"),
    hosts: str = typer.Option("", "--hosts", help="comma-separated extra DNS names / IPs of the RTI (localhost and 127.0.0.1 are always in)"),
) -> None:
    """Create DIR/ca.pem+key, DIR/rti.pem+key and DIR/sites/<site>.pem+key (plus the coordinator's) in a new or
    empty DIR (never over a file, never through a symbolic link)."""
    from federation.security.certs import COORDINATOR_SITE, init_ca

    d = init_ca(directory, federation, [*_sites(sites), COORDINATOR_SITE], _sites(hosts))
    typer.echo(f"{d.root}: CA, RTI certificate and {len(_sites(sites)) + 1} site certificates for {federation}; "
               f"keep {d.ca_key} offline, give each site only sites/<site>.pem, sites/<site>.key and ca.pem")


@certs_app.command("issue")
def certs_issue(directory: Path, site: str = typer.Option(..., "--site", help="the site to issue a certificate for (refused when it has one: delete its files first)")) -> None:
    """Issue DIR/sites/<site>.pem+key with the directory's CA (never over a file, never through a symbolic link)."""
    from federation.security.certs import issue_site

    path = issue_site(directory, site)
    typer.echo(f"{path}: certificate of site {site}")


@app.command()
def clean() -> None:
    """Delete the throw-away certificates (in $TMPDIR) of local grpc/ray runs that were killed before they could
    (SIGKILL, a crash); a running run's are kept. Every `federation run` does this too."""
    from federation.security.certs import remove_stale_throwaways

    found = remove_stale_throwaways()
    for path in found.removed:
        typer.echo(f"deleted {path}: throw-away certificates of a run that was killed")
    for path, pid in found.live:
        typer.echo(f"kept {path}: its run (pid {pid}) is still running")
    for path in found.unknown:
        typer.echo(f"left {path}: it records no run of this tool (an older version's?); delete it by hand if no "
                   "run uses it")
    if not (found.removed or found.live or found.unknown):
        typer.echo("nothing to clean: no throw-away certificates left by a killed run")


audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    file: Path,
    run: Optional[Path] = typer.Option(None, "--run", help="the run.json recording the log's end (default: run.json beside FILE, when it names FILE)"),
    ca: Optional[Path] = typer.Option(None, "--ca", "--tls", help="the federation's CA (ca.pem, or a certificate folder holding it): the head must be signed by its RTI or coordinator"),
) -> None:
    """Check the hash chain, each line's canonical form and the log's end against its head file and run.json
    (and their signatures): exit 1 naming the first problem (2: nothing to check)."""
    from federation.security.audit import AuditError, AuditUnreadable, load_ca, verify_log

    try:
        checked = verify_log(file, run, None if ca is None else load_ca(ca))
    except AuditUnreadable as exc:
        _error(f"cannot verify the audit log {exc}")
        raise typer.Exit(exc.exit_code) from None
    except AuditError as exc:  # this command's verdict, as cmp's: exit 1 (to any other reader it is bad input)
        err.print(f"[red]audit log broken: {escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file}: OK ({checked.tail.seq} entries)")
    typer.echo(f"  its end ({checked.tail.seq} entries, last hash {checked.tail.prev[:12]}..) matches "
               f"{' and '.join(checked.recorded_in)}")
    if checked.signer is None:
        typer.echo("  not signed (written without TLS): anyone who can write the files could have rebuilt it")
    elif checked.ca_checked:
        typer.echo(f"  signed by {checked.signer}, whose certificate the given CA issued")
    else:
        typer.echo(f"  signed by {checked.signer}; its certificate was not checked against a CA (pass --ca)")
    for note in checked.notes:
        typer.echo(f"  note: {note}")


@app.command()
def inspect(fmu: Path) -> None:
    """Print an FMU's interface: FMI version, default experiment, inputs, outputs and parameters (units, starts)."""
    from federation.kinds import read_interface

    iface = read_interface(fmu)
    typer.echo(f"{fmu.name}: model {iface.model_name}, FMI {iface.fmi_version}")
    experiment = ", ".join(f"{key}={value}{'' if key == 'tolerance' else ' s'}"
                           for key, value in iface.default_experiment.items())
    typer.echo(f"default experiment: {experiment or 'none declared'}")
    for title, names in (("inputs", iface.inputs()), ("outputs", iface.outputs()), ("parameters", iface.parameters())):
        typer.echo(f"{title}:")
        for n in names:
            v = iface.variables[n]
            unit = f" [{v.unit}]" if v.unit else ""
            kind = (v.fmi_type or v.type) + (" array" if v.array else "")
            start = _array_text(v.array_start) if v.array else v.start
            typer.echo(f"  {n}{unit}  {kind}  start={start}  {v.description}")


def _array_text(values: tuple[object, ...], shown: int = 20) -> str:
    """An array's elements (strings quoted: they may hold the separator), the first `shown` of a longer one."""
    more = f", ... {len(values) - shown} more" if len(values) > shown else ""
    return f"[{', '.join(repr(x) if isinstance(x, str) else str(x) for x in values[:shown])}{more}]"


def main() -> None:
    from federation.runtime.processes import die_with_parent

    die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s: %(message)s")
    # Threads hand messages to each other on every step; a short GIL switch interval
    # keeps that hand-over from waiting out Python's 5 ms default.
    sys.setswitchinterval(float(__import__("os").environ.get("FEDERATION_SWITCH_INTERVAL", "0.0002")))
    app()


if __name__ == "__main__":
    main()
