"""JUnit XML, as CI servers read it (Jenkins, GitLab, GitHub actions' reporters): one testcase per Check."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .checks import Check


def write_junit(path: str | Path, suites: Mapping[str, Sequence[Check]], name: str = "federation") -> Path:
    """Write `path`: a <testsuites> named `name` with one <testsuite> per entry of `suites` and one <testcase>
    per Check (a <failure> with its message when it failed); return the path."""
    raise NotImplementedError
