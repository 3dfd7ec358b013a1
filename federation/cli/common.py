"""What every command shares: the command group that turns errors into exit codes, error printing, scenario
loading with `--stop`/`--set`, output folders and TLS options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup
from rich.console import Console
from rich.markup import escape

from federation.errors import FederationError


err = Console(stderr=True)


def error(message: object) -> None:
    """An error message in red, printed verbatim: brackets in it (units like [s]) are text."""
    err.print(f"[red]{escape(str(message))}[/red]", highlight=False, soft_wrap=True)


def report(exc: FederationError) -> None:
    """A FederationError as the user sees it: its message (under a heading for a list of problems)."""
    from federation.scenario import ScenarioError

    if isinstance(exc, ScenarioError):
        err.print(f"[red]invalid scenario[/red]\n{escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
    else:
        error(exc)


class Commands(TyperGroup):
    """The command group: the one place where an error becomes an exit code (federation.errors).

    A FederationError that a command lets through is reported and ends the command with its branch's
    exit code: 2 for a configuration error, 1 for a model error or a run failure. Anything else is a
    bug, and keeps its traceback."""

    def invoke(self, ctx: Any) -> Any:  # click's Context, which newer typers bundle as their own
        try:
            return super().invoke(ctx)
        except FederationError as exc:
            report(exc)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(cls=Commands, add_completion=False, no_args_is_help=True,
                  help="Federated, HLA-style co-simulation of FMU digital twins.")


def overrides_of(stop: Optional[float], settings: Optional[list[str]]) -> dict[str, object]:
    """`--stop` and `--set key=value` as scenario overrides (values read by sweeps.parse_value)."""
    from federation.sweeps import parse_value, split_setting

    out: dict[str, object] = {}
    for item in settings or []:
        key, value = split_setting(item, "--set", "KEY=VALUE")
        out[key] = read_value("--set", item, parse_value, value)
    if stop is not None:
        out["time.stop"] = stop
    return out


def read_value(option: str, given: str, parse: Any, text: str) -> Any:
    """parse(text); exit 2 naming the option when Python refuses to read a number that long (4,300 digits)."""
    try:
        return parse(text)
    except ValueError as exc:
        from federation.clip import clip

        if isinstance(exc, FederationError):  # a SweepError names the problem itself
            raise
        error(f"{option} {clip(given, 60)}: a number with more digits than any number this tool uses "
               "(the largest is about 1.8e+308)")
        raise typer.Exit(2) from None


def load_cli_scenario(scenario: Path, stop: Optional[float] = None, settings: Optional[list[str]] = None,  # type: ignore[no-untyped-def]
          site: Optional[str] = None, run_code: bool = True):
    from federation.scenario import load_scenario

    return load_scenario(scenario, overrides_of(stop, settings) or None, site=site, run_code=run_code)


def results_dir(path: Path, kind: str = "run", force: bool = False) -> Path:
    """The folder, absolute and ready for a run or a sweep (federation.runtime.outputs: a new or empty folder,
    or an earlier run's with --force, an earlier sweep's); OutputRefused naming it and what is in it otherwise."""
    from federation.runtime.outputs import claim_output

    return claim_output(path, "sweep" if kind == "sweep" else "run", force)


def warn_insecure() -> None:
    from federation.security.local import INSECURE_WARNING

    err.print(f"[yellow]warning: {INSECURE_WARNING}[/yellow]", highlight=False, soft_wrap=True)


def tls_mismatch_note(rti: str, creds: Any) -> Optional[str]:
    from federation.security.tls import tls_mismatch

    return tls_mismatch(rti, creds is not None)


def check_tls_matches(rti: str, creds: Any) -> None:
    """Exit 2 at once when the RTI is up and speaks TLS while we would not, or the other way round."""
    mismatch = tls_mismatch_note(rti, creds)
    if mismatch:
        error(mismatch)
        raise typer.Exit(2)


def state_dir() -> Path:
    import os

    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "federation"


def site_credentials(tls: Optional[Path], site: str) -> Any:
    """`site`'s certificate and key from a certificate directory (None without --tls); CertificateError naming
    the problem."""
    if tls is None:
        return None
    from federation.security.certs import SiteCredentials

    return SiteCredentials.load(tls, site)
