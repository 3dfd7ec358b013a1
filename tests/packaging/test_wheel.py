"""The wheel builds from the sources alone, installs into a fresh venv, and runs the flagship from there.

The slowest part is installing the dependencies (from pip's cache when it is warm). The wheel is built
without build isolation (this venv has the pinned grpcio-tools), from a copy of the sources, so that
nothing left in the checkout (a build/ folder, generated stubs) can reach it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "federation", "adapters", "proto")
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"

# Runs the venv's `federation` script as its shebang would, and records which file every module of the
# package came from, including those imported during the run (a scenario's Python model imports adapters).
DRIVER = """
import atexit, json, runpy, sys
report, sys.argv = sys.argv[1], sys.argv[2:]  # sys.argv: the script and its arguments
def origins():
    with open(report, "w") as f:
        json.dump({n: getattr(m, "__file__", None) for n, m in list(sys.modules.items())
                   if n.partition(".")[0] in ("federation", "adapters")}, f)
atexit.register(origins)
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run(args: list[str | Path], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass(frozen=True)
class Installed:
    venv: Path
    site: Path  # the venv's site-packages
    work: Path  # the working directory of every command: neither the checkout nor the sources copied
    flagship: Path  # the flagship's results, run by the venv's `federation` script
    modules: dict[str, str | None]  # module of the package -> its file, in that run


@pytest.fixture(scope="module")
def installed(fmu_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel built from a copy of the sources, installed into a fresh venv, and the flagship run from it."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "_gen", "build"))
        else:
            shutil.copy2(path, src / name)
    run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "-w", tmp / "dist"], tmp)
    [wheel] = (tmp / "dist").glob("federation-*-py3-none-any.whl")

    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", venv], tmp)
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check", wheel], tmp)

    work = tmp / "work"
    work.mkdir()
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work).strip())
    run([python, "-m", "adapters.native"], work)  # from the wheel's fmi_step.c, into the venv: the run uses it
    out, report = work / "flagship", work / "modules.json"
    run([python, "-c", DRIVER, report, venv / "bin" / "federation", "run", FLAGSHIP, "--out", out], work)
    return Installed(venv, site, work, out, json.loads(report.read_text()))


def test_the_flagship_runs_from_the_installed_wheel(installed: Installed) -> None:
    record = json.loads((installed.flagship / "run.json").read_text())
    assert (record["status"], record["last_time_s"]) == ("completed", 86400.0)
    assert (installed.flagship / "results.png").stat().st_size > 0
    rows = (installed.flagship / "results.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["time", "grid.f"] and len(rows) == 1 + 86400 // 5 + 1


def test_the_installed_package_runs_from_the_venv_without_grpcio_tools(installed: Installed) -> None:
    assert installed.site.is_relative_to(installed.venv) and installed.site != Path(sysconfig.get_paths()["purelib"])
    probe = ("import federation.protocol, importlib.util; "
             "print(federation.protocol.pb.__file__, importlib.util.find_spec('grpc_tools'))")
    stubs, generator = run([installed.venv / "bin" / "python", "-c", probe], installed.work).split()
    assert Path(stubs).is_relative_to(installed.site) and generator == "None"  # the wheel's own stubs
    assert (installed.site / "adapters" / "native" / "build" / "fmi_step.so").is_file()


def test_every_module_of_the_run_comes_from_the_venv(installed: Installed) -> None:
    assert {"federation.cli", "adapters.fmu", "adapters.python"} <= set(installed.modules)
    assert {n: f for n, f in installed.modules.items() if f and not Path(f).is_relative_to(installed.site)} == {}


def test_the_wheels_stubs_carry_a_run_across_processes(installed: Installed) -> None:
    """The RTI and the hosts started from the venv, over gRPC with mTLS: the first minute (most of its time is
    start-up) gives the embedded run's first rows, byte for byte."""
    out = installed.work / "grpc"
    run([installed.venv / "bin" / "federation", "run", FLAGSHIP, "--mode", "grpc", "--stop", "60", "--no-plot",
         "--out", out], installed.work)
    rows = (installed.flagship / "results.csv").read_text().splitlines(keepends=True)
    assert (out / "results.csv").read_text() == "".join(rows[:1 + 60 // 5 + 1])
