"""Throw-away certificates of one local run, and removing those a killed run left behind."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .directory import CertDir
from .folders import open_folder, why, write_new
from .issue import init_ca

log = logging.getLogger(__name__)

THROWAWAY_PREFIX = "federation-certs-"  # in the temporary folder ($TMPDIR): what `remove_stale_throwaways` looks at
OWNER_FILE = "owner.json"  # in a throw-away folder: the process that made it (pid and start time)


@dataclass
class Leftovers:
    """Throw-away certificate folders found in the temporary folder, by what became of them."""

    removed: list[Path]  # their run is gone (killed before it could delete them): deleted
    live: list[tuple[Path, int]]  # their run (pid) is still running: kept
    unknown: list[Path]  # no owner record of ours (an older version's, another user's, a link): kept


@contextmanager
def throwaway(federation: str, sites: Iterable[str], hosts: Iterable[str] = ()) -> Iterator[CertDir]:
    """A fresh CA and certificates in a private temporary directory, deleted afterwards.

    The directory records its owner, so that when this process is killed before it can delete it (SIGKILL),
    the next one (or `federation clean`) does: see remove_stale_throwaways, called here first."""
    import psutil

    remove_stale_throwaways()
    root = Path(tempfile.mkdtemp(prefix=THROWAWAY_PREFIX))
    try:
        me = psutil.Process()
        folder = open_folder(root)
        try:
            write_new(folder, root / OWNER_FILE, json.dumps({"tool": "federation", "pid": me.pid,
                                                          "started": me.create_time()}).encode(), private=True)
        finally:
            os.close(folder)
        yield init_ca(root / "certs", federation, sites, hosts)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def remove_stale_throwaways(folder: Path | str | None = None) -> Leftovers:
    """Delete the throw-away certificate folders (in `folder`, default the temporary folder) whose run is gone.

    Only a folder of this user, not a symbolic link, named THROWAWAY_PREFIX..., holding our owner record whose
    process (pid, with its start time: a pid is reused) no longer runs; never a live run's, never anything else."""
    base = Path(folder or tempfile.gettempdir())
    found = Leftovers([], [], [])
    try:
        names = sorted(n for n in os.listdir(base) if n.startswith(THROWAWAY_PREFIX))
    except OSError as exc:
        log.warning("cannot look for throw-away certificates in %s: %s", base, why(exc))
        return found
    for name in names:
        path = base / name
        owner = _owner(path)
        if owner is None:
            found.unknown.append(path)
        elif _running(*owner):
            found.live.append((path, owner[0]))
        else:
            try:  # deletes links, never what they point to (shutil.rmtree.avoids_symlink_attacks)
                shutil.rmtree(path, onerror=_unless_gone)
            except OSError as exc:
                log.warning("cannot delete the throw-away certificates in %s: %s", path, why(exc))
                continue
            log.info("deleted %s: throw-away certificates of a run (pid %d) that ended without deleting them",
                     path, owner[0])
            found.removed.append(path)
    return found


def _unless_gone(function: object, path: str, exc_info: tuple[type[BaseException], BaseException, object]) -> None:
    """rmtree's error handler: what another cleaner deleted first is no error."""
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


def _owner(path: Path) -> tuple[int, float] | None:
    """(pid, start time) of the process that made the throw-away folder `path`; None when it is not one of ours."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None  # a link, a file, another user's
        folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fd = os.open(OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as fh:
            record = json.loads(fh.read(4096))
    except (OSError, ValueError):
        return None
    if not (isinstance(record, dict) and record.get("tool") == "federation"):
        return None
    pid, started = record.get("pid"), record.get("started")
    if not (isinstance(pid, int) and isinstance(started, (int, float))):
        return None
    return pid, float(started)


def _running(pid: int, started: float) -> bool:
    """Whether the process `pid` that started at `started` still runs (not a later one with its pid, not a zombie)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return abs(process.create_time() - started) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect: take it as running, and keep its folder
        return True
