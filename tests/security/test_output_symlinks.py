"""A symbolic link planted in a results folder is never followed: the run (or sweep) is refused, even with --force,
and the file it points to keeps its bytes and its time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from federation.runtime.outputs import claim_output

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
CLI = [sys.executable, "-m", "federation.cli"]


def federation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def earlier_run(folder: Path, kind: str = "run") -> Path:
    """A folder as a completed run leaves it (as far as the folder check looks)."""
    claim_output(folder)
    (folder / "run.json").write_text(json.dumps({"status": "completed"}))
    (folder / "logs").mkdir()
    (folder / "telemetry").mkdir()
    return folder


def victim(tmp_path: Path) -> tuple[Path, bytes, int]:
    target = tmp_path / "precious" / "data.csv"
    target.parent.mkdir()
    target.write_bytes(b"a file of someone else's\n")
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    return target, target.read_bytes(), target.stat().st_mtime_ns


@pytest.mark.parametrize("name", ["results.csv", "run.json", "results.png", ".federation", "audit.jsonl",
                                  "logs/rti.log", "telemetry/federation-run-spans.jsonl"])
def test_a_symlink_where_a_run_writes_is_refused_and_not_followed(fmu_dist: Path, tmp_path: Path, name: str) -> None:
    out = earlier_run(tmp_path / "out")
    target, content, mtime = victim(tmp_path)
    (out / name).unlink(missing_ok=True)
    (out / name).symlink_to(target)
    proc = federation("run", str(FLAGSHIP), "--stop", "60", "--out", str(out), "--force")
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and f"{name} (a symbolic link)" in text and str(out) in text, text
    assert target.read_bytes() == content and target.stat().st_mtime_ns == mtime
    assert (out / name).is_symlink()


def test_a_symlink_in_a_sweeps_run_folder_is_refused_and_not_followed(fmu_dist: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    claim_output(sweep, "sweep")
    run = earlier_run(sweep / "furnace.T_set=1100")
    target, content, mtime = victim(tmp_path)
    (run / "results.csv").symlink_to(target)
    proc = federation("sweep", str(FLAGSHIP), "--mode", "embedded", "--stop", "60", "--param",
                      "furnace.T_set=1100,1200", "--out", str(sweep), "--force")
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "furnace.T_set=1100/results.csv (a symbolic link)" in text, text
    assert target.read_bytes() == content and target.stat().st_mtime_ns == mtime
    assert not (sweep / "furnace.T_set=1200").exists()
