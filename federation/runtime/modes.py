"""The three ways to run a scenario, behind one call: embedded, grpc (processes on this machine) or ray."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from federation.errors import ConfigurationError
from federation.rti.time import LogicalTime
from federation.runtime.record import RunResult
from federation.scenario import Scenario

Mode = Literal["embedded", "grpc", "ray"]
MODES: tuple[Mode, ...] = ("embedded", "grpc", "ray")


def run_mode(mode: str, scenario: Scenario, out_dir: Path, on_progress: Callable[[LogicalTime], None] | None = None,
             plot: bool = True, grant_timeout: float | None = None, address: str | None = None,
             insecure: bool = False) -> RunResult:
    """Run a validated scenario into a claimed folder (imported on use: grpc and Ray are heavy to import)."""
    if mode == "ray":
        from federation.runtime.ray import run_ray

        return run_ray(scenario, out_dir, on_progress, plot=plot, grant_timeout=grant_timeout, address=address,
                       insecure=insecure)
    if mode == "grpc":
        from federation.runtime.local import run_grpc

        return run_grpc(scenario, out_dir, on_progress, plot=plot, grant_timeout=grant_timeout, insecure=insecure)
    if mode != "embedded":
        raise ConfigurationError(f"unknown mode {mode!r}; use {', '.join(MODES)}")
    from federation.runtime.embedded import run_embedded

    return run_embedded(scenario, out_dir, on_progress, plot=plot)
