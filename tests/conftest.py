"""Shared fixtures: the project's FMUs, built once per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fmu_dist() -> Path:
    """fmus/dist with all twins built (incremental: a no-op when up to date)."""
    subprocess.run([sys.executable, str(ROOT / "fmus" / "build.py")], check=True, cwd=ROOT, capture_output=True)
    return ROOT / "fmus" / "dist"
