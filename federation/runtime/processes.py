"""Child processes that never outlive their parent: launch, watch and tear down."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Mapping, Sequence

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
ENV_PARENT = "FEDERATION_PARENT_PID"


def quick_thread_switches() -> None:
    """A short GIL switch interval (FEDERATION_SWITCH_INTERVAL, default 0.2 ms) for a process that runs a
    federation: its threads hand messages to each other on every step, and Python's 5 ms default would make
    each hand-over wait. The CLI, Ray tasks and actors, and a suite's workers all set it."""
    sys.setswitchinterval(float(os.environ.get("FEDERATION_SWITCH_INTERVAL", "0.0002")))


def die_with_parent() -> None:
    """In a child started by `spawn`: ask the kernel to SIGKILL us when the parent dies.

    Done by the child at start-up rather than between fork and exec: running Python in a
    forked child of a process that serves gRPC can crash it, and without a preexec hook
    Python can start children with vfork, which runs no fork handlers at all.
    """
    parent = os.environ.pop(ENV_PARENT, None)
    if parent is None or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):  # the parent died before we asked
        os._exit(1)


def spawn(
    args: Sequence[str], log_path: Path | None = None, stdout: int | IO[bytes] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    err: int | IO[bytes] = subprocess.DEVNULL
    if log_path is not None:
        err = open(log_path, "wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1", **{ENV_PARENT: str(os.getpid())}, **(extra_env or {}))
    try:
        return subprocess.Popen(list(args), stdout=stdout if stdout is not None else err, stderr=err, env=env)
    finally:
        if not isinstance(err, int):
            err.close()  # the child has its own copy; keeping ours leaks a descriptor per spawn


def stop_all(procs: Sequence[subprocess.Popen[bytes]], grace: float = 3.0) -> None:
    """SIGTERM, wait up to `grace`, then SIGKILL: no process is left behind.

    A stopped process (SIGSTOP, a frozen host) keeps SIGTERM pending until it is continued,
    so it gets a SIGCONT too rather than sitting out the grace period.
    """
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("process %s ignored SIGTERM; killing it", p.pid)
            p.kill()
            p.wait()
