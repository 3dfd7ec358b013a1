"""The Python API: load or build a scenario, run it in any mode, sweep it, and inspect an FMU.

Re-exported by the `federation` package (see its `__all__`); the modules here each hold one part:
build (Scenario), results (Run, Series, Timings), runs (run, inspect), sweeps (sweep, SweepResult,
SweepRun, Uniform), testing (test: regression suites), and _engine, the one module that imports the rest
of the library (compare, Tolerance(s), Comparison, Check and the report and JUnit writers come from
federation.comparison through it).
"""

from __future__ import annotations

from federation import __all__  # the one list of the public names: the package re-exports this module's

from ._engine import (CaseRun, Check, Comparison, ConfigurationError, FederateInterface, FederationError,
                      FederationFailed, InterfaceError, ModelError, OutputRefused, Problem, RunFailure, ScenarioError,
                      SignalComparison, SuiteError, SuiteResult, SweepError, Tolerance, Tolerances, VariableInfo,
                      compare, write_junit, write_report)
from .build import Scenario
from .results import Run, Series, Timings
from .runs import inspect, run
from .sweeps import SweepResult, SweepRun, Uniform, sweep
from .testing import test
