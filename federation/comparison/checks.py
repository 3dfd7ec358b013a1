"""A check: one line of a report, one JUnit testcase (a compared signal, or a suite's expectation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    """One verdict: its name, whether it passed, why not (`message`), and the first failing time (s), if any."""

    name: str
    passed: bool
    message: str = ""
    time: float | None = None
