"""`federation test SUITE`: run a regression suite (federation.regression) and print its verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from federation.cli.common import app, err, error

SUITE_MODES = ("local", "ray")


@app.command()
def test(
    suite: Path,
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="runs at a time on this machine (default: the CPU count)"),
    mode: str = typer.Option("local", "--mode", help="local (a pool of processes here) or ray (one Ray task per run)"),
    address: Optional[str] = typer.Option(None, "--address", help="ray: address of a running Ray cluster (default: start Ray locally)"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder of the runs, one per case and mode (default: results/<suite name>)"),
    junit: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML: one testcase per case's run, signal and expectation"),
    report: Optional[Path] = typer.Option(None, "--report", help="write an HTML report into this folder (index.html)"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="seconds a run may take (a case's own timeout wins); a run still going fails its case"),
    update_references: bool = typer.Option(False, "--update-references", help="rewrite each case's reference from this run, and print what changed"),
) -> None:
    """Run a suite's cases in parallel, compare each with its reference and expectations, print a summary;
    exit 0 when every case passes, 1 otherwise (2: the suite file or an option is wrong)."""
    from federation.regression import default_out, load_suite, run_suite

    if mode not in SUITE_MODES:
        error(f"unknown --mode {mode!r}; use {' or '.join(SUITE_MODES)}")
        raise typer.Exit(2)
    if jobs is not None and jobs < 1:
        error(f"--jobs must be 1 or more, got {jobs}")
        raise typer.Exit(2)
    if timeout is not None and not timeout > 0:
        error(f"--timeout must be a number of seconds above 0, got {timeout}")
        raise typer.Exit(2)
    loaded = load_suite(suite)
    total = sum(len(case.modes) for case in loaded.cases)
    console = Console(stderr=True)
    failed = [0]
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console,
                  disable=not console.is_terminal, transient=True) as progress:
        task = progress.add_task(f"suite {loaded.name}", total=total, note="")

        def on_done(run: Any) -> None:
            failed[0] += not run.passed
            progress.update(task, advance=1, note=f"[red]{failed[0]} failed[/red]" if failed[0] else "")

        try:
            result = run_suite(loaded, out or default_out(loaded), jobs=jobs, on_ray=mode == "ray", address=address,
                               timeout=timeout, update_references=update_references, junit=junit, report=report,
                               on_done=on_done)
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/yellow]")
            raise typer.Exit(130) from None
    _summary(result)
    if update_references:
        _updates(result)
    raise typer.Exit(0 if result.passed else 1)


def _summary(result: Any) -> None:
    out = Console(soft_wrap=False, width=max(Console().width, 120))
    table = Table(title=f"suite {result.suite.name}: {len(result.runs) - len(result.failed)}/{len(result.runs)} passed "
                        f"in {result.wall_time:.1f} s", title_justify="left")
    for column in ("case", "mode", "verdict", "failing", "wall (s)"):
        table.add_column(column, justify="right" if column == "wall (s)" else "left")
    for run in result.runs:
        verdict = "[green]pass[/green]" if run.passed else f"[red]{'FAIL' if run.status == 'completed' else run.status.upper()}[/red]"
        failing = ", ".join(f"{c.name}" + (f" (t={c.time:g} s)" if c.time is not None else "") for c in run.failures)
        table.add_row(escape(run.case), run.mode, verdict, escape(failing), f"{run.wall_time:.2f}")
    out.print(table)
    for run in result.failed:
        out.print(f"[red]{escape(run.name)}[/red] ({escape(str(run.out))})", highlight=False)
        for check in run.failures:
            out.print(f"  {escape(check.name)}: {escape(check.message)}", highlight=False, soft_wrap=True)
    for label, path in (("JUnit", result.junit), ("report", result.report)):
        if path is not None:
            out.print(f"{label}: {escape(str(path))}", highlight=False)


def _updates(result: Any) -> None:
    if not result.updates:
        typer.echo("no reference rewritten (a case's first mode must complete)")
    for update in result.updates:
        verb = "created" if update.created else "updated"
        typer.echo(f"{update.case}: {verb} {update.path} from {update.source}")
        if not update.created:
            if not update.changed and not update.removed:
                typer.echo("  unchanged")
            for column in update.changed:
                typer.echo(f"  {column.name}: " + ("new column" if column.max_change is None else
                                                   f"max change {column.max_change:.6g} at t={column.at:g} s"))
            for name in update.removed:
                typer.echo(f"  {name}: removed")
