"""Shared fixtures: the project's FMUs, built once per session, and its FMU builder."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fmu_dist() -> Path:
    """fmus/dist with all twins built (incremental: a no-op when up to date)."""
    subprocess.run([sys.executable, str(ROOT / "fmus" / "build.py")], check=True, cwd=ROOT, capture_output=True)
    return ROOT / "fmus" / "dist"


def load_build_module() -> ModuleType:
    """Import fmus/build.py without requiring fmus to be a package."""
    name = "fmus_build"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "fmus" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_module() -> ModuleType:
    """fmus/build.py: builds the twins, and models a test writes to its own folder (build_one(models_dir=...))."""
    return load_build_module()
