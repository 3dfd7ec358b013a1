"""The notebook example and the README's Python API snippet run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import NOTEBOOK, ROOT


@pytest.mark.slow
def test_the_notebook_builds_runs_and_plots_the_flagship(fmu_dist: Path, tmp_path: Path) -> None:
    out = tmp_path / "notebook"
    env = {**os.environ, "NOTEBOOK_OUT": str(out)}
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, str(NOTEBOOK)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "completed: 17281 rows of 8 variables" in done.stdout
    assert (out / "results.png").stat().st_size > 20_000
    assert sorted(p.name for p in out.iterdir()) == [".federation", "built_scenario.yaml", "results.csv",
                                                     "results.png", "run.json"]
    again = subprocess.run([sys.executable, str(NOTEBOOK)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # into its own earlier results, figure included


def test_the_readme_snippet_runs_as_written(fmu_dist: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(ROOT)
    exec(compile(code.group(1), "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("f min ") and " Hz, " in printed[0]
    assert "'completed'" in printed[1] and printed[1].count("vehicle.n_ev=") == 2
    assert "n_ev" in printed[2]
