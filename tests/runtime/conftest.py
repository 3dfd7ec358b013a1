"""Fixtures of the runtime tests: the `federation run` child processes a test started, killed when it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grpc_runs import CliRun, leftovers


@pytest.fixture
def runs() -> Iterator[list[CliRun]]:
    """Runs started by a test (grpc_runs.start); whatever is still alive when it ends is killed."""
    started: list[CliRun] = []
    yield started
    for run in started:
        if run.proc.poll() is None or leftovers(run):
            run.kill()
