"""`federation compare`: results against a reference, a table per signal, an HTML report and JUnit XML."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from federation.cli.common import app, error

TOL_HELP = "tube half-height: {} (default: 0.1%% of each signal's range when no tolerance is given)"


@app.command()
def compare(
    results: Path = typer.Argument(..., help="results CSV (a time column, then one column per signal)"),
    reference: Path = typer.Argument(..., help="reference CSV (its own time grid; interpolated linearly)"),
    atol: Optional[float] = typer.Option(None, "--atol", help="absolute tolerance in value (the signal's unit)"),
    rtol: Optional[float] = typer.Option(None, "--rtol", help="tolerance relative to the reference's local value |y|"),
    range_rtol: Optional[float] = typer.Option(None, "--range-rtol", help="tolerance relative to the reference's range (csv-compare's)"),
    ttol: Optional[float] = typer.Option(None, "--ttol", help="tolerance in time (s): an event shifted by less passes"),
    tolerances: Optional[Path] = typer.Option(None, "--tolerances", help="YAML/JSON file: default: {atol, rtol, range_rtol, ttol}, variables: {name: {...}}; the options above replace its default's"),
    maps: Optional[list[str]] = typer.Option(None, "--map", help="RESULT=REFERENCE: compare result column RESULT with reference column REFERENCE (repeatable)"),
    report: Optional[Path] = typer.Option(None, "--report", help="write an HTML report (index.html, a plot per failing signal) into this folder"),
    junit: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML (one testcase per signal) to this file"),
) -> None:
    """Compare results with a reference within tolerance tubes (funnel's): exit 0 when every signal stays in
    its tube and none is missing, 1 otherwise, 2 for a bad file or option.

    Each reference signal gets a tube: max(atol, rtol*|y|, range_rtol*range) in value, widened by ttol in time.
    The table gives each signal's verdict, the first time it left its tube, its largest deviation and where,
    and RMSE/NRMSE of the result interpolated onto the reference's times (for measured data)."""
    from federation.comparison import compare as run_compare, tolerances_of, write_junit, write_report

    mapping = {}
    for item in maps or []:
        name, sep, ref_name = item.partition("=")
        if not sep or not name.strip() or not ref_name.strip():
            error(f"--map {item}: expected RESULT=REFERENCE (a result column = a reference column)")
            raise typer.Exit(2)
        mapping[name.strip()] = ref_name.strip()
    tols = tolerances_of(tolerances, atol=atol, rtol=rtol, range_rtol=range_rtol, ttol=ttol)
    comparison = run_compare(results, reference, tolerances=tols, mapping=mapping)
    console = Console()
    if not console.is_terminal:  # a CI log: no terminal's width to fit, keep the table's rows whole
        console.width = 200
    console.print(comparison_table(comparison))
    if comparison.extra:
        console.print(f"in the results only (not compared): {escape(', '.join(comparison.extra))}", highlight=False)
    for check in comparison.checks():
        if not check.passed:
            console.print(f"[red]FAIL[/red] {escape(check.name)}: {escape(check.message)}", highlight=False,
                          soft_wrap=True)
    if report is not None:
        page = write_report(report, {f"{results} vs {reference}": comparison}, title=f"compare {results.name}")
        console.print(f"report: {escape(str(page))}", highlight=False)
    if junit is not None:
        write_junit(junit, {"compare": comparison.checks()})
        console.print(f"junit: {escape(str(junit))}", highlight=False)
    passed = sum(s.passed for s in comparison.signals)
    total = len(comparison.signals) + len(comparison.missing)
    console.print(f"{'[green]PASS[/green]' if comparison.passed else '[red]FAIL[/red]'}: {passed} of {total} "
                  f"signal(s) within tolerance" + (f", {len(comparison.missing)} missing" if comparison.missing else ""),
                  highlight=False)
    raise typer.Exit(0 if comparison.passed else 1)


def comparison_table(comparison: Any) -> Any:
    """A rich Table of a Comparison: one row per signal (and per missing variable)."""
    from rich.table import Table

    table = Table("signal", "", "out of tube at [s]", "max deviation", "at [s]", "RMSE", "NRMSE", "tolerance",
                  title=f"{escape(comparison.results)} vs {escape(comparison.reference)}")
    from federation.comparison import describe

    for s in comparison.signals:
        table.add_row(escape(s.label), "[green]pass[/green]" if s.passed else "[red]FAIL[/red]",
                      _num(s.first_failure) or ("-" if s.passed else escape(s.coverage[:40])), _num(s.max_deviation),
                      _num(s.max_deviation_time), _num(s.rmse), _num(s.nrmse), describe(s.tolerance))
    for name in comparison.missing:
        table.add_row(escape(name), "[red]MISSING[/red]", "", "", "", "", "", "")
    return table


def _num(value: Optional[float]) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.6g}"
