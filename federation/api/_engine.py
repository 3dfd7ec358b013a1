"""The library as the Python API uses it: every name the API takes from the rest of federation, imported here only.

The API's other modules import from this one, so that moving a module of the library means changing
an import here and nowhere else in federation.api.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from federation.comparison import (Check, Comparison, SignalComparison, Tolerance, Tolerances, compare,
                                   write_junit, write_report)
from federation.errors import ConfigurationError, FederationError, FederationFailed, ModelError, RunFailure
from federation.kinds import kind as kind_of, read_interface
from federation.kinds.interface import FederateInterface, InterfaceError, VariableInfo
from federation.names import COORDINATOR_SITE
from federation.regression import CaseRun, SuiteError, SuiteResult, default_out, load_suite, run_suite
from federation.rti.time import to_seconds
from federation.runtime.outputs import BUILT_SCENARIO, OutputRefused, claim_output
from federation.runtime.modes import MODES, Mode, Routing, check_routing, run_mode, run_relay_sites
from federation.runtime.record import RunResult
from federation.sweeps import (MODES as SWEEP_MODES, RunOutcome, RunSpec, SweepError, check_specs, expand,
                                      integer_parameters, parse_param, run_sweep, units_of)
from federation.scenario import Connection, Problem, ScenarioError, load_scenario
from federation.scenario import Scenario as Spec

SITE_KEY = "site"  # the scenario key naming a federate's site


def load_spec(path: Path, overrides: dict[str, object] | None, mode: Mode = "embedded") -> Spec:
    """The scenario file validated as a run in `mode` reads it (the CLI's rule): in ray mode as the
    coordinator, which holds no site's model (each site's host checks its own); else every model here."""
    return load_scenario(path, overrides or None, site=COORDINATOR_SITE if mode == "ray" else None)


def uniform(key: str, lo: float, hi: float) -> Any:
    """The sweep engine's uniform range over [lo, hi] for `key`, as `--param KEY=LO..HI` gives it.

    Made through the engine's own reader of that option, from the numbers' repr (exact for every float
    and int), so that a range drawn from Python and from the CLI is one thing.
    """
    return parse_param(f"{key}={lo!r}..{hi!r}")[1][0]


def seconds(ticks: int) -> float:
    """Logical time (integer ticks) in seconds."""
    return to_seconds(ticks)
