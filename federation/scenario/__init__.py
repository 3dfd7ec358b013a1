"""Scenario files: what they hold (schema), how they are read (source), what a site resolves of them
(resolve: every piece of I/O), the rules they must follow (rules: pure), and the frozen result of all
of it, built by load_scenario (resolved)."""

from __future__ import annotations

from .problems import Problem, ScenarioError, format_problems
from .resolved import Scenario, load_scenario
from .rules import check
from .schema import (Connection, FederateSpec, InteractionSpec, OutputSpec, ScenarioSpec, TimeSpec,
                     parse_reference)

__all__ = [
    "Connection",
    "FederateSpec",
    "InteractionSpec",
    "OutputSpec",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ScenarioSpec",
    "TimeSpec",
    "check",
    "format_problems",
    "load_scenario",
    "parse_reference",
]
