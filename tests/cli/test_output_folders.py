"""Results never replace what was there: `run` (every mode), `coordinate` and `sweep` write into a new or empty
folder or over an earlier run (sweep) of this tool, and refuse anything else naming the folder and what is in it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from federation.runtime.outputs import MARKER, OutputRefused, claim_output

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
CLI = [sys.executable, "-m", "federation.cli"]
SHORT = ["--stop", "60", "--no-plot"]


def federation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join(proc.stderr.split())


def snapshot(folder: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every entry below `folder`: a file's bytes (a link's target) and its modification time, to the nanosecond."""
    found: dict[str, tuple[bytes | str, int]] = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        content: bytes | str = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else "dir"
        found[str(path.relative_to(folder))] = (content, stat.st_mtime_ns)
    return found


def users_folder(folder: Path) -> Path:
    """A folder of a user's own: a file a run never writes, a results.csv of theirs and a sub-folder."""
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "results.csv").write_text("time,x\n0,1\n")
    (folder / "data").mkdir()
    (folder / "data" / "input.csv").write_text("1,2\n")
    return folder


# The commands that write results, each as far as the folder check: nothing before it connects or starts Ray.
COMMANDS = {
    "run embedded": ["run", str(FLAGSHIP), *SHORT],
    "run grpc": ["run", str(FLAGSHIP), "--mode", "grpc", *SHORT],
    "run ray": ["run", str(FLAGSHIP), "--mode", "ray", *SHORT],
    "coordinate": ["coordinate", str(FLAGSHIP), "--rti", "127.0.0.1:1", *SHORT],
    "sweep": ["sweep", str(FLAGSHIP), "--mode", "embedded", "--stop", "60", "--param", "furnace.T_set=1100,1200"],
}


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_folder_holding_a_users_files_is_refused_naming_them_and_left_as_it_was(
        fmu_dist: Path, tmp_path: Path, command: str, force: bool) -> None:
    folder = users_folder(tmp_path / "mine")
    before = snapshot(folder)
    proc = federation(*COMMANDS[command], "--out", str(folder), *(["--force"] if force else []))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert str(folder) in said(proc) and "notes.txt" in said(proc) and "data/" in said(proc), said(proc)
    assert "Nothing was changed" in said(proc)
    assert snapshot(folder) == before  # no byte, no time, no marker: nothing was touched


def test_an_earlier_run_is_refused_without_force_and_replaced_with_it(fmu_dist: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = federation("run", str(FLAGSHIP), "--mode", "grpc", *SHORT, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / "logs").is_dir() and (out / "policy.yaml").exists() and (out / "audit.jsonl").exists()
    before = snapshot(out)
    again = federation("run", str(FLAGSHIP), *SHORT, "--out", str(out))
    assert again.returncode == 2, again.stderr
    assert f"{out} holds an earlier run (" in said(again) and "--force" in said(again), said(again)
    assert snapshot(out) == before
    # With --force: the grpc run's files go (its logs and policy are not the embedded run's), its audit log stays.
    audit = (out / "audit.jsonl").read_bytes()
    forced = federation("run", str(FLAGSHIP), *SHORT, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((out / "run.json").read_text())["mode"] == "embedded"
    assert not (out / "logs").exists() and not (out / "policy.yaml").exists()
    assert (out / "audit.jsonl").read_bytes().startswith(audit)  # continued or kept, never deleted


def test_make_demo_runs_again_into_its_own_folder(fmu_dist: Path, tmp_path: Path) -> None:
    """The demo's own command line, from the Makefile, twice into one folder (shortened to a minute)."""
    recipe = re.search(r"^demo:.*\n\t(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert recipe is not None
    args = shlex.split(recipe.group(1))
    assert args[0] == "$(VENV)/bin/federation" and "--force" in args, args
    for _ in range(2):
        proc = federation(*args[1:], *SHORT, "--out", str(tmp_path / "demo"))
        assert proc.returncode == 0, proc.stderr


def test_new_and_empty_folders_are_taken(fmu_dist: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "new" / "nested", tmp_path / "empty"):
        proc = federation("run", str(FLAGSHIP), *SHORT, "--out", str(folder))
        assert proc.returncode == 0, proc.stderr
        assert (folder / "results.csv").exists()
    (tmp_path / "empty-sweep").mkdir()
    proc = federation(*COMMANDS["sweep"], "--out", str(tmp_path / "empty-sweep"))
    assert proc.returncode == 0, proc.stderr


def test_a_sweep_continues_its_own_folder_and_refuses_a_runs(fmu_dist: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for expected in ("0 reused", "2 reused"):
        proc = federation(*COMMANDS["sweep"], "--out", str(sweep))
        assert proc.returncode == 0 and expected in proc.stdout, proc.stderr
    proc = federation("run", str(FLAGSHIP), *SHORT, "--out", str(sweep), "--force")
    assert proc.returncode == 2 and f"refusing to write results into {sweep}: it holds a sweep" in said(proc), said(proc)
    run = tmp_path / "run"
    assert federation("run", str(FLAGSHIP), *SHORT, "--out", str(run)).returncode == 0
    before = snapshot(run)
    proc = federation(*COMMANDS["sweep"], "--out", str(run), "--force")
    assert proc.returncode == 2 and f"refusing to write a sweep into {run}: it holds a run" in said(proc), said(proc)
    assert snapshot(run) == before
    # A user's file in one of the sweep's run folders: the sweep would write beside it.
    (sweep / "furnace.T_set=1100" / "mine.txt").write_text("mine")
    before = snapshot(sweep)
    proc = federation(*COMMANDS["sweep"], "--out", str(sweep), "--force")
    assert proc.returncode == 2 and "furnace.T_set=1100/mine.txt" in said(proc), said(proc)
    assert snapshot(sweep) == before


def test_coordinate_takes_an_earlier_runs_folder_only_with_force(fmu_dist: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert federation("run", str(FLAGSHIP), *SHORT, "--out", str(out)).returncode == 0
    before = snapshot(out)
    proc = federation(*COMMANDS["coordinate"], "--out", str(out))
    assert proc.returncode == 2 and f"{out} holds an earlier run" in said(proc), said(proc)
    assert snapshot(out) == before
    rti = subprocess.Popen([*CLI, "rti", "serve", "--listen", "127.0.0.1:0", "--audit", str(tmp_path / "rti.jsonl")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                           start_new_session=True)
    try:
        assert rti.stdout is not None and rti.stderr is not None
        listening = rti.stdout.readline().split()  # "RTI listening on 127.0.0.1:PORT"
        assert listening, rti.stderr.read()
        address = listening[-1]
        proc = federation("coordinate", str(FLAGSHIP), "--rti", address, *SHORT, "--out", str(out), "--force",
                          "--join-timeout", "1")
    finally:
        rti.terminate()
        rti.wait(30)
    assert proc.returncode == 1 and "did not join" in said(proc), said(proc)  # it got past the folder and ran
    record = json.loads((out / "run.json").read_text())
    assert record["mode"] == "grpc" and record["status"] == "failed"


# ------------------------------------------------------------------- the rule itself, on folders a run leaves

def killed_run(folder: Path) -> Path:
    """What a run killed with SIGKILL leaves: its marker and files, no run.json."""
    claim_output(folder)
    (folder / "results.csv").write_text("time,x\n")
    (folder / "logs").mkdir()
    (folder / "logs" / "host-a.log").write_text("")
    (folder / "audit.jsonl").write_text("")
    return folder


def test_a_killed_run_is_an_earlier_run_and_a_killed_sweep_is_continued(tmp_path: Path) -> None:
    run = killed_run(tmp_path / "run")
    with pytest.raises(OutputRefused, match="holds an earlier run"):
        claim_output(run)
    assert claim_output(run, force=True) == run
    assert sorted(p.name for p in run.iterdir()) == [MARKER, "audit.jsonl"]  # the audit log is never deleted
    sweep = tmp_path / "sweep"
    claim_output(sweep, "sweep")
    killed_run(sweep / "a=1")  # a run folder, no summary.csv yet
    before = snapshot(sweep)
    assert claim_output(sweep, "sweep") == sweep
    assert snapshot(sweep) == before


def test_a_folder_from_before_the_marker_is_known_by_its_run_json(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "run.json").write_text(json.dumps({"status": "completed", "mode": "embedded"}))
    (legacy / "results.csv").write_text("time\n")
    with pytest.raises(OutputRefused, match="holds an earlier run"):
        claim_output(legacy)
    claim_output(legacy, force=True)
    assert sorted(p.name for p in legacy.iterdir()) == [MARKER]
    not_ours = tmp_path / "not-ours"
    not_ours.mkdir()
    (not_ours / "run.json").write_text("[1, 2]")  # a run.json, but not one this tool writes
    with pytest.raises(OutputRefused, match="no run.json of this tool"):
        claim_output(not_ours, force=True)
    assert (not_ours / "run.json").read_text() == "[1, 2]"


def test_a_refusal_names_a_few_entries_and_counts_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        (folder / f"file{i:02d}").write_text("")
    started = time.monotonic()
    with pytest.raises(OutputRefused) as info:
        claim_output(folder, force=True)
    assert time.monotonic() - started < 2
    assert "file00, file01, file02, file03, file04 and 35 more" in str(info.value)
