"""Session fixtures for the FMU tests: build all FMUs once (incrementally) from the sources."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
TWINS: tuple[str, ...] = ("grid", "furnace", "vehicle")


def load_build_module() -> ModuleType:
    """Import fmus/build.py without requiring fmus to be a package."""
    name = "fmus_build"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "fmus" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_module() -> ModuleType:
    return load_build_module()


@pytest.fixture(scope="session")
def fmus(build_module: ModuleType) -> dict[tuple[str, int], Path]:
    """Build all six FMUs (no-op if up to date) and return {(name, fmi_version): path}."""
    build_module.build()
    paths = {(n, v): build_module.fmu_path(n, v) for n in TWINS for v in (2, 3)}
    for p in paths.values():
        assert p.is_file(), p
    return paths
