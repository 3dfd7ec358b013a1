"""A run's outcome never depends on its plot: nothing to plot, or a plot that fails, still ends a completed
run with exit 0, run.json saying completed and why there is no results.png (real runs, via the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from federation.results.plot import plot_results
from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def scenario(tmp_path: Path, fmu_dist: Path, grid: str = "expose: [f]", output: str = "",
             name: str = "quiet") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(f"""\
        federation: {json.dumps(name)}
        time: {{start: 0.0, stop: 30.0, step: 10.0}}
        federates:
          grid: {{fmu: {fmu_dist / 'fmi3' / 'grid.fmu'}, site: utility, step: 1.0, {grid}}}
          furnace: {{fmu: {fmu_dist / 'fmi2' / 'furnace.fmu'}, site: furnace_maker, expose: []}}
        {output}
        """))
    return path


def run_cli(path: Path, out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "federation.cli", "run", str(path), "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("mode, grid, output", [
    ("embedded", "expose: []", ""),
    ("embedded", "expose: [f]", "output: {variables: []}"),
    ("grpc", "expose: []", ""),
], ids=["expose-nothing", "record-nothing", "grpc"])
def test_a_run_that_records_nothing_completes_without_a_plot(fmu_dist: Path, tmp_path: Path, mode: str, grid: str,
                                                             output: str) -> None:
    out = tmp_path / "out"
    proc = run_cli(scenario(tmp_path, fmu_dist, grid, output), out, "--mode", mode, "--insecure")
    assert proc.returncode == 0, proc.stderr
    assert "quiet: completed 30 s" in proc.stdout
    assert "no results.png: nothing was recorded" in proc.stderr, proc.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "completed" and info["error"] is None
    assert "nothing was recorded" in info["plot_note"]
    assert not (out / "results.png").exists()
    assert (out / "results.csv").read_text().splitlines() == ["time", "0.0", "10.0", "20.0", "30.0"]


def test_a_plot_that_fails_leaves_the_run_completed_and_says_why(fmu_dist: Path, tmp_path: Path) -> None:
    # A matplotlib that cannot load, as a broken installation would be.
    broken = tmp_path / "broken" / "matplotlib"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("libfreetype.so.6: cannot open shared object file")\n')
    env = {**__import__("os").environ, "PYTHONPATH": str(broken.parent)}
    out = tmp_path / "out"
    proc = run_cli(scenario(tmp_path, fmu_dist), out, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "quiet: completed 30 s" in proc.stdout
    assert "no results.png: plotting failed: ImportError: libfreetype" in proc.stderr, proc.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "completed" and "libfreetype" in info["plot_note"]
    assert not (out / "results.png").exists() and len((out / "results.csv").read_text().splitlines()) == 5


def test_names_are_plotted_as_written_not_as_math(tmp_path: Path) -> None:
    # A variable name (an FMU's may hold any character but spaces) or a title that reads as TeX.
    csv_path = tmp_path / "results.csv"
    csv_path.write_text("time,m.cost$\\notacommand$,m.x_{1}^\n0.0,1.0,2.0\n1.0,2.0,3.0\n")
    plot_results(csv_path, tmp_path / "results.png", "cost $\\notacommand$")
    assert (tmp_path / "results.png").stat().st_size > 0
