"""Session fixtures for the FMU tests: build all FMUs once (incrementally) from the sources."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

TWINS: tuple[str, ...] = ("grid", "furnace", "vehicle")


@pytest.fixture(scope="session")
def fmus(build_module: ModuleType) -> dict[tuple[str, int], Path]:
    """Build all six FMUs (no-op if up to date) and return {(name, fmi_version): path}."""
    build_module.build()
    paths = {(n, v): build_module.fmu_path(n, v) for n in TWINS for v in (2, 3)}
    for p in paths.values():
        assert p.is_file(), p
    return paths
