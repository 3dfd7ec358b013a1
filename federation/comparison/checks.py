"""A check: one line of a report, one JUnit testcase (a compared signal, or a suite's expectation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    """One verdict: its name, whether it passed, why (`message`), the first failing time in the simulation (s),
    if any, and how long producing it took on the wall clock (s; a suite's case), if known."""

    name: str
    passed: bool
    message: str = ""
    time: float | None = None
    duration: float | None = None
