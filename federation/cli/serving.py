"""The RTI as a service (`rti serve`, `rti status`) and a site's host (`host`)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape


from federation.cli.common import app, check_tls_matches, err, error, overrides_of, site_credentials, state_dir, tls_mismatch_note, warn_insecure


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
                          audit=audit or state_dir() / "rti-audit.jsonl")
    try:
        config.check()
        # The options go through the same checks as --limit, which comes after them and so wins.
        config = replace(config, limits=with_limits(Limits(), [
            f"max_message_bytes={max_message_bytes}", f"heartbeat_timeout={heartbeat_timeout}",
            f"grant_timeout={grant_timeout}", *limit]))
    except (ValueError, ServerStartError) as exc:
        error(exc)
        raise typer.Exit(2) from None
    telemetry.setup("federation-rti")
    try:
        server = start(config)
    except ServerStartError as exc:
        error(exc)
        raise typer.Exit(2) from None
    if tls is None:
        warn_insecure()
    try:
        if ready_file is not None:
            write_ready_file(ready_file, server)
    except OSError as exc:
        server.stop(grace=0).wait()
        error(f"cannot write --ready-file {ready_file}: {exc}")
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

    creds = site_credentials(tls, site)
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
        mismatch = tls_mismatch_note(rti, creds) if exc.code == "UNAVAILABLE" else None
        if mismatch:
            error(f"cannot reach the RTI: {mismatch}")
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
    listen: Optional[str] = typer.Option(None, "--listen", help="HOST:PORT where this host's Peer service listens for other sites' hosts (direct routing; default 127.0.0.1:0, port 0: any free one)"),
    advertise: Optional[str] = typer.Option(None, "--advertise", help="HOST:PORT other sites' hosts dial to reach this one (a NAT's or a proxy's; default: the --listen address as bound)"),
    no_listen: bool = typer.Option(False, "--no-listen", help="this site accepts no connection (behind NAT or a firewall): its channels go through the RTI"),
    options: Optional[Path] = typer.Option(None, "--options", help="all of the above as one JSON file (federation.runtime.launch.HostOptions), as a launcher writes it; nothing else may be given"),
) -> None:
    """Run one site's federates against a remote RTI (their FMUs stay on this machine)."""
    from federation.errors import FederationError, FederationFailed
    from federation.runtime.host import load_host_scenario, serve_host

    opts = _host_options(scenario, site, rti, wait, stop, settings, tls, options, (listen, advertise, no_listen))
    creds = site_credentials(opts.tls, opts.site)
    if creds is None:
        warn_insecure()
    check_tls_matches(opts.rti, creds)
    sc = load_host_scenario(opts)
    try:
        steps = serve_host(opts, sc, creds)
    except FederationError as exc:
        from federation.transport.grpc import ConnectionLost

        if not (isinstance(exc, FederationFailed) and exc.reported and exc.host == opts.site):  # else logged already
            # Never joined: the RTI may have come up after this host started, with the other TLS setting.
            mismatch = tls_mismatch_note(opts.rti, creds) if isinstance(exc, ConnectionLost) else None
            why = f" ({mismatch})" if mismatch else ""
            err.print(f"[red]host {escape(repr(opts.site))} failed:[/red] {escape(str(exc) + why)}", markup=True,
                      highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(f"site {opts.site}: done ({', '.join(f'{k}: {v} steps' for k, v in steps.items())})")


def _host_options(scenario: Optional[Path], site: Optional[str], rti: Optional[str], wait: float,
                  stop: Optional[float], settings: Optional[list[str]], tls: Optional[Path],
                  options: Optional[Path], peer: tuple[Optional[str], Optional[str], bool] = (None, None, False)) -> Any:
    """The host's HostOptions: read from --options, or built from the other arguments; exit 2 naming what is wrong.
    `peer`: --listen, --advertise and --no-listen."""
    from pydantic import ValidationError

    from federation.runtime.launch import HostOptions

    listen, advertise, no_listen = peer
    if no_listen and (listen is not None or advertise is not None):
        error(f"--no-listen: this host accepts no connection, so it takes no {'--listen' if listen else '--advertise'}")
        raise typer.Exit(2)
    if options is not None:
        given = [name for name, value in (("SCENARIO", scenario), ("--site", site), ("--rti", rti), ("--stop", stop),
                                          ("--set", settings), ("--tls", tls), ("--listen", listen),
                                          ("--advertise", advertise), ("--no-listen", no_listen)) if value]
        if given:
            error(f"--options {options} holds every host option; do not give {', '.join(given)} too")
            raise typer.Exit(2)
        try:
            return HostOptions.read(options)
        except ValueError as exc:
            error(exc)
            raise typer.Exit(2) from None
    missing = [name for name, value in (("SCENARIO", scenario), ("--site", site), ("--rti", rti)) if value is None]
    if missing:
        error(f"federation host needs {', '.join(missing)} (or --options FILE)")
        raise typer.Exit(2)
    try:
        peer_fields = {key: value for key, value in (("listen", listen), ("advertise", advertise)) if value is not None}
        return HostOptions.model_validate({"scenario": scenario, "site": site, "rti": rti, "tls": tls, "wait": wait,
                                           "overrides": overrides_of(stop, settings), "accepts": not no_listen,
                                           **peer_fields})
    except ValidationError as exc:
        error(f"federation host: {'; '.join(problem_of(e) for e in exc.errors())}")
        raise typer.Exit(2) from None
    except ValueError as exc:
        error(f"federation host: {exc}")
        raise typer.Exit(2) from None


def problem_of(e: Any) -> str:
    """One of pydantic's errors in a line: a check's own words (they name the option), else the field and pydantic's."""
    message = str(e["msg"]).removeprefix("Value error, ")
    if e["type"] == "value_error" or not e["loc"]:
        return message
    return f"{'.'.join(str(part) for part in e['loc'])}: {message}"
