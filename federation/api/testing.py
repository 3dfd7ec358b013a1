"""Regression suites from Python (`test`): what `federation test SUITE` does, returning the verdicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from ._engine import CaseRun, ConfigurationError, SuiteResult, default_out, load_suite, run_suite


def test(suite: str | Path, *, jobs: int | None = None, mode: Literal["local", "ray"] = "local",
         address: str | None = None, out: str | Path | None = None, junit: str | Path | None = None,
         report: str | Path | None = None, timeout: float | None = None, update_references: bool = False,
         progress: Callable[[CaseRun], None] | None = None) -> SuiteResult:
    """Run a suite file's cases (each scenario in each of its modes), `jobs` at a time here (default: the CPU
    count) or as Ray tasks (`mode="ray"`, `address` of a cluster, default a local one), into `out` (default
    results/<suite name>); judge each run against its reference (tolerance tubes) and expectations.

    `junit`: write JUnit XML; `report`: write an HTML report into that folder; `timeout` (s): the limit of a
    run whose case sets none (a run past it is stopped and fails its case); `update_references`: rewrite each
    case's reference from this run first (SuiteResult.updates says what changed). `progress(run)` is called
    as each run is judged. Returns a SuiteResult (`passed`, `runs`, `failed`); a failed or timed-out run is a
    failing CaseRun, never an exception. SuiteError for an invalid suite file."""
    if mode not in ("local", "ray"):
        raise ConfigurationError(f"unknown mode {mode!r}; use local or ray")
    loaded = load_suite(suite)
    return run_suite(loaded, Path(out) if out is not None else default_out(loaded), jobs=jobs, on_ray=mode == "ray",
                     address=address, timeout=timeout, update_references=update_references,
                     junit=None if junit is None else Path(junit), report=None if report is None else Path(report),
                     on_done=progress)


test.__test__ = False  # type: ignore[attr-defined]  # not a test for pytest, wherever it is imported
