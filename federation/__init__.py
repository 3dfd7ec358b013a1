"""federation: a federated, HLA-style co-simulation orchestrator for FMU digital twins.

The Python API, in brief (README, "Python API")::

    import federation

    sc = federation.Scenario.load("examples/grid_furnace_vehicle/scenario.yaml", {"time.stop": 3600.0})
    result = federation.run(sc)                      # or mode="grpc" / "ray", out="results/x"
    result["grid.f"].values, result["grid.f"].unit   # numpy array, "Hz"

- Scenario: load a scenario file (with overrides) or build one in code (add_fmu, add_python,
  add_replay, add for any installed kind, connect, add_interaction, record); validate() checks it
  against its models.
- run(scenario, mode=..., out=None) -> Run: status, error, timings, and the results as numpy
  arrays with units (to_pandas() with the `pandas` extra).
- sweep(scenario, params=..., samples=None, ...) -> SweepResult: one run per combination or draw.
- inspect(fmu) -> FederateInterface: an FMU's variables (causality, type, unit, start...).
- compare(results, reference, tolerances=Tolerances(...), mapping=...) -> Comparison: each signal in
  its tolerance tube (funnel's), its first time out, its largest deviation, RMSE/NRMSE; write_report()
  and write_junit() turn Comparisons and Checks into an HTML page and JUnit XML.
- test(suite, jobs=..., junit=..., report=...) -> SuiteResult: a regression suite's cases (scenarios,
  overrides, modes) run in parallel and judged against references and expectations (`federation test`).

The names are loaded on first use (federation.api), so that importing a submodule of the package
(the RTI core, a host) does not import the API's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from federation.api import (ConfigurationError, FederateInterface, FederationError, FederationFailed,
                                InterfaceError, ModelError, OutputRefused, Problem, Run, RunFailure, Scenario,
                                ScenarioError, Series, SweepError, SweepResult, SweepRun, Timings, Uniform,
                                VariableInfo, inspect, run, sweep)
    from federation.api import CaseRun, SuiteError, SuiteResult, test
    from federation.api import (Check, Comparison, SignalComparison, Tolerance, Tolerances, compare, write_junit,
                                write_report)

__all__ = [
    "CaseRun",
    "Check",
    "Comparison",
    "ConfigurationError",
    "FederateInterface",
    "FederationError",
    "FederationFailed",
    "InterfaceError",
    "ModelError",
    "OutputRefused",
    "Problem",
    "Run",
    "RunFailure",
    "Scenario",
    "ScenarioError",
    "Series",
    "SignalComparison",
    "SuiteError",
    "SuiteResult",
    "SweepError",
    "SweepResult",
    "SweepRun",
    "Timings",
    "Tolerance",
    "Tolerances",
    "Uniform",
    "VariableInfo",
    "compare",
    "inspect",
    "run",
    "sweep",
    "test",
    "write_junit",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'federation' has no attribute {name!r}")
    value = getattr(importlib.import_module("federation.api"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
