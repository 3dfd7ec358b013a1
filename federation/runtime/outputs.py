"""Where a run or a sweep may write: a new or empty folder, or one that holds only an earlier run (sweep) of this tool.

The one rule for every command that writes results (`run` in every mode, `coordinate`, `sweep`; the
Python API too): `claim_output` checks the folder before anything is written and says what it found.

- What a run writes (and nothing else) is `RUN_FILES`, the audit log with its head and the logs a
  rotation moved aside (`AUDIT_FILES`), and `logs/*.log`, `telemetry/*.jsonl`, `launch/*.json`. A folder
  a run claims gets the marker `.federation` first, so that a run killed before it wrote run.json is
  still known as one.
- An earlier run's folder: only those entries (regular files and folders, never a symbolic link), and the
  marker of a run or, for folders written before the marker existed, a run.json this tool wrote. It is
  refused unless `force`; with `force`, the earlier run's files are deleted before the new run writes
  (the audit log excepted: it is continued or moved aside, never deleted), so nothing of that run passes
  for the new one's.
- A sweep's folder: summary.csv, the marker, a scenario built in Python (BUILT_SCENARIO) and run folders
  (each holding only what a run writes). A sweep reuses its own earlier runs (by their inputs' digests),
  so an earlier sweep's folder is accepted as is; `force` there means "run every run again" (see
  sweeps/runner.py) and is not this module's concern.
- Anything else in the folder (a file or folder no run writes, a symbolic link anywhere a run writes) is
  refused, even with `force`, naming the folder and the entries: nothing is deleted or overwritten.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Literal

from federation.clip import few
from federation.errors import ConfigurationError

MARKER = ".federation"
BUILT_SCENARIO = "built_scenario.yaml"  # a scenario built in Python, as the run (sweep) read it: see federation.api
RUN_FILES = frozenset({"results.csv", "results.png", "run.json", "policy.yaml", "params.json", "metrics.json",
                       BUILT_SCENARIO})
AUDIT_FILES = re.compile(r"audit(\.\d+)?\.(jsonl|head\.json|head\.json\.tmp)")  # see security/audit/writer.py: rotate
# launch/: the hosts' options and the RTI's ready file (runtime/local.py), a temporary one of a killed RTI's too
RUN_FOLDERS = {"logs": re.compile(r"[^/]+\.log"), "telemetry": re.compile(r"[^/]+\.jsonl"),
               "launch": re.compile(r"[^/]+\.json(\.tmp)?")}
SUMMARY = "summary.csv"
_MAX_RECORD = 1 << 20  # a run.json or marker larger than this is not one this tool wrote

Kind = Literal["run", "sweep"]


class OutputRefused(ConfigurationError):
    """The folder cannot take this run's (sweep's) results: names it, what is in it and what to do."""


def claim_output(path: Path, kind: Kind = "run", force: bool = False) -> Path:
    """The folder `path` (made absolute, created when missing) ready for a run or a sweep; OutputRefused
    when it holds anything else than an earlier run (sweep) of this tool, or an earlier run without force.

    With force, an earlier run's files are deleted (see the module's docstring); nothing else ever is."""
    # Absolute: an FMU's loader may change the working directory (fmpy does when a binary fails).
    folder = path.absolute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise OutputRefused(f"cannot write results to {folder}: {exc.strerror or exc}") from None
    try:
        if kind == "sweep" and names:
            _check_sweep(folder, names)
        elif names:
            for name in _check_run(folder, names, force):
                _remove(folder / name)
    except OSError as exc:  # a folder it may not read, a file it may not delete
        raise OutputRefused(f"cannot write results to {folder}: {exc.filename}: {exc.strerror or exc}") from None
    if MARKER not in names:
        _write_marker(folder, kind)
    return folder


def _check_run(folder: Path, names: list[str], force: bool) -> list[str]:
    """The entries of an earlier run to delete (with force); OutputRefused when the folder is not one."""
    made_by = _marker(folder)
    if made_by == "sweep" or (made_by is None and SUMMARY in names):
        raise OutputRefused(f"refusing to write results into {folder}: it holds a sweep ({few(_shown(folder, names))}); "
                            "choose an empty or new folder (--out). Nothing was changed.")
    ours, foreign = _run_entries(folder, names)
    if foreign:
        raise OutputRefused(f"refusing to write results into {folder}: it holds {few(foreign)}, which no run of "
                            "this tool writes; choose an empty or new folder (--out). Nothing was changed.")
    if made_by is None and not _is_run_json(folder / "run.json"):
        raise OutputRefused(f"refusing to write results into {folder}: it holds {few(_shown(folder, names))} but no "
                            "run.json of this tool; choose an empty or new folder (--out). Nothing was changed.")
    if not force:
        raise OutputRefused(f"{folder} holds an earlier run ({few(_shown(folder, names))}): overwrite it with "
                            "--force, or choose another folder (--out)")
    return [name for name in ours if name != MARKER and not AUDIT_FILES.fullmatch(name)]


def _check_sweep(folder: Path, names: list[str]) -> None:
    """OutputRefused unless the folder holds an earlier sweep of this tool: summary.csv, the marker, run folders."""
    made_by = _marker(folder)
    if made_by == "run" or (made_by is None and _is_run_json(folder / "run.json")):
        raise OutputRefused(f"refusing to write a sweep into {folder}: it holds a run ({few(_shown(folder, names))}); "
                            "choose an empty or new folder (--out). Nothing was changed.")
    foreign: list[str] = []
    for name in names:
        path = folder / name
        if path.is_symlink():
            foreign.append(f"{name} (a symbolic link)")
        elif path.is_dir():
            inner = _run_entries(path, sorted(os.listdir(path)))[1]
            if inner:  # one example per folder: a run's folder (telemetry/) would list all its files
                foreign.append(f"{name}/{inner[0]}")
        elif name not in (SUMMARY, MARKER, BUILT_SCENARIO) or not path.is_file():
            foreign.append(name)
    if foreign:
        raise OutputRefused(f"refusing to write a sweep into {folder}: it holds {few(foreign)}, which no sweep of "
                            "this tool writes; choose an empty or new folder (--out). Nothing was changed.")
    if made_by is None and SUMMARY not in names:
        raise OutputRefused(f"refusing to write a sweep into {folder}: it holds {few(_shown(folder, names))} but no "
                            f"{SUMMARY}: not a sweep of this tool; choose an empty or new folder (--out). Nothing was "
                            "changed.")


def _run_entries(folder: Path, names: list[str]) -> tuple[list[str], list[str]]:
    """(what a run writes, everything else) among `names` in `folder`; symbolic links are never a run's."""
    ours: list[str] = []
    foreign: list[str] = []
    for name in names:
        path = folder / name
        if path.is_symlink():
            foreign.append(f"{name} (a symbolic link)")
        elif name in RUN_FOLDERS and path.is_dir():
            inner = [f"{name}/{entry}" for entry in _foreign_in(path, RUN_FOLDERS[name])]
            (foreign.extend(inner) if inner else ours.append(name))
        elif (name in RUN_FILES or name == MARKER or AUDIT_FILES.fullmatch(name)) and path.is_file():
            ours.append(name)
        else:
            foreign.append(name + ("/" if path.is_dir() else ""))
    return ours, foreign


def _foreign_in(folder: Path, pattern: re.Pattern[str]) -> list[str]:
    """The entries of a run's logs/ or telemetry/ folder that a run does not write there."""
    out = []
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if path.is_symlink():
            out.append(f"{name} (a symbolic link)")
        elif not (pattern.fullmatch(name) and path.is_file()):
            out.append(name + ("/" if path.is_dir() else ""))
    return out


def _shown(folder: Path, names: list[str]) -> list[str]:
    """The entries as a refusal names them: folders with a slash, the marker left out."""
    return [name + ("/" if (folder / name).is_dir() and not (folder / name).is_symlink() else "")
            for name in names if name != MARKER]


def _read_small(path: Path) -> object:
    """The JSON in a regular file of ours (never through a symbolic link), None when it is not such a file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(_MAX_RECORD + 1)
    if len(data) > _MAX_RECORD:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _marker(folder: Path) -> str | None:
    """What the folder's marker says it holds ('run', 'sweep'); None without a marker of this tool."""
    record = _read_small(folder / MARKER)
    if isinstance(record, dict) and record.get("tool") == "federation" and record.get("kind") in ("run", "sweep"):
        return str(record["kind"])
    return None


def _is_run_json(path: Path) -> bool:
    """Whether `path` is a run.json as runtime.record.write_run_json (or a sweep's failed run) writes it."""
    record = _read_small(path)
    return isinstance(record, dict) and isinstance(record.get("status"), str)


def _write_marker(folder: Path, kind: Kind) -> None:
    try:
        fd = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise OutputRefused(f"cannot write results to {folder}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps({"tool": "federation", "kind": kind}) + "\n")


def _remove(path: Path) -> None:
    """Delete an earlier run's file, or its logs/ or telemetry/ folder (checked to hold only a run's files)."""
    if path.is_dir() and not path.is_symlink():
        for inner in os.listdir(path):
            os.unlink(path / inner)  # never follows a link: it deletes the name
        path.rmdir()
    else:
        os.unlink(path)
