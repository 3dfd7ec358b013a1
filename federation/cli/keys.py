"""Certificates (`certs init/issue`), `clean`, the audit log (`audit verify`) and `inspect` of an FMU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from federation.cli.common import app, err, error


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
        error(f"cannot verify the audit log {exc}")
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
    """Print an FMU's interface: FMI version, interfaces (co-simulation, Model Exchange), default experiment,
    inputs, outputs and parameters (units, starts)."""
    from federation.kinds import read_interface

    iface = read_interface(fmu)
    typer.echo(f"{fmu.name}: model {iface.model_name}, FMI {iface.fmi_version}")
    offered = [label for key, label in _FMI_INTERFACES.items() if key in iface.model_identifiers]
    note = (" (runs as co-simulation; `interface: model_exchange` integrates it with a solver)" if len(offered) > 1
            else " (integrated by a solver: `solver: CVode` or `Euler`)" if offered == ["Model Exchange"] else "")
    typer.echo(f"interface: {' and '.join(offered)}{note}")
    experiment = ", ".join(f"{key}={value}{'' if key == 'tolerance' else ' s'}"
                           for key, value in iface.default_experiment.items())
    typer.echo(f"default experiment: {experiment or 'none declared'}")
    for title, names in (("inputs", iface.inputs()), ("outputs", iface.outputs()), ("parameters", iface.parameters())):
        typer.echo(f"{title}:")
        for n in names:
            v = iface.variables[n]
            unit = f" [{v.unit}]" if v.unit else ""
            kind = (v.fmi_type or v.type) + (f" array {_shape(iface, v.dimensions)}" if v.array else "")
            start = _array_text(v.array_start) if v.array else v.start
            typer.echo(f"  {n}{unit}  {kind}  start={start}  {v.description}")


def _shape(iface: Any, dimensions: tuple[int | str, ...]) -> str:
    """`[2,3]`; a size a structural parameter gives, with that parameter's start value: `[n=4]`."""
    from federation.kinds.arrays import shape_text

    return shape_text([d if isinstance(d, int) else f"{d}={getattr(iface.variables.get(d), 'start', None)}"
                       for d in dimensions])


_FMI_INTERFACES = {"co_simulation": "co-simulation", "model_exchange": "Model Exchange"}


def _array_text(values: tuple[object, ...], shown: int = 20) -> str:
    """An array's elements (strings quoted: they may hold the separator), the first `shown` of a longer one."""
    more = f", ... {len(values) - shown} more" if len(values) > shown else ""
    return f"[{', '.join(repr(x) if isinstance(x, str) else str(x) for x in values[:shown])}{more}]"
