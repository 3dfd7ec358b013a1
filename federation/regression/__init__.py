"""Regression suites: `federation test SUITE` runs cases (a scenario, overrides, modes) in parallel and checks
each against its reference (federation.comparison's tolerance tubes) and expectations that need no reference.

suite (the suite file), expect (expectations), references (--update-references), runner (running the cases,
locally in a pool of processes or on Ray), worker (one run, in its own process).
"""

from __future__ import annotations

from pathlib import Path

from federation.regression.references import ColumnChange, ReferenceUpdate, update_reference
from federation.regression.runner import CaseRun, SuiteResult, run_suite
from federation.regression.suite import Case, Suite, SuiteError, load_suite

__all__ = ["Case", "CaseRun", "ColumnChange", "ReferenceUpdate", "Suite", "SuiteError", "SuiteResult",
           "default_out", "load_suite", "run_suite", "update_reference"]


def default_out(suite: Suite) -> Path:
    """Where a suite's runs go when no folder is given: results/<suite name>, below the working directory."""
    return Path("results") / suite.name
