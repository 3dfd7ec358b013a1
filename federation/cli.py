"""The `federation` command: a thin typer shell over scenario, runtime and adapters."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Federated, HLA-style co-simulation of FMU digital twins.")
err = Console(stderr=True)


def _load(scenario: Path, stop: Optional[float] = None):  # type: ignore[no-untyped-def]
    from federation.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(scenario, {"time.stop": stop} if stop is not None else None)
    except ScenarioError as exc:
        err.print(f"[red]invalid scenario[/red]\n{exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None


@app.command()
def validate(scenario: Path) -> None:
    """Check a scenario file and print every problem at once."""
    sc = _load(scenario)
    typer.echo(f"{scenario}: OK ({len(sc.federates)} federates, {len(sc.connections)} connections)")


@app.command()
def run(
    scenario: Path,
    out: Optional[Path] = typer.Option(None, "--out", help="results folder (default: the scenario's output.dir)"),
    stop: Optional[float] = typer.Option(None, "--stop", help="override time.stop [s]"),
    mode: str = typer.Option("embedded", "--mode", help="embedded (one process)"),
    no_plot: bool = typer.Option(False, "--no-plot", help="skip results.png"),
) -> None:
    """Run a federation and write results.csv, results.png and run.json."""
    from federation.rti.time import to_seconds
    from federation.runtime.embedded import run_embedded

    if mode != "embedded":
        err.print(f"[red]mode {mode!r} is not available yet; use --mode embedded[/red]")
        raise typer.Exit(2)
    sc = _load(scenario, stop)
    out_dir = out or sc.output.dir
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

        try:
            result = run_embedded(sc, out_dir, tick, plot=not no_plot)
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted; results so far are in {out_dir}[/yellow]")
            raise typer.Exit(130) from None
        except Exception as exc:
            err.print(f"[red]run failed:[/red] {exc}", markup=True, highlight=False)
            err.print(f"results up to the last completed step are in {out_dir}")
            raise typer.Exit(1) from None
    typer.echo(f"{sc.federation}: completed {sc.time.stop - sc.time.start:g} s in {result.wall_time:.2f} s wall -> {out_dir}")


@app.command()
def inspect(fmu: Path) -> None:
    """Print an FMU's interface: name, FMI version, inputs, outputs, parameters with units."""
    from federation.interfaces import InterfaceError, fmu_interface

    try:
        iface = fmu_interface(fmu)
    except InterfaceError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    typer.echo(f"{fmu.name}: model {iface.model_name}, FMI {iface.fmi_version}")
    for title, names in (("inputs", iface.inputs()), ("outputs", iface.outputs()), ("parameters", iface.parameters())):
        typer.echo(f"{title}:")
        for n in names:
            v = iface.variables[n]
            unit = f" [{v.unit}]" if v.unit else ""
            typer.echo(f"  {n}{unit}  {v.type}  start={v.start}  {v.description}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
