"""The suite file: cases, each a scenario run in one or more modes, checked against a reference and expectations.

A suite is YAML, validated by pydantic; every problem is reported at once as `<file>: <key>: <message>`
(SuiteError). Paths (scenario, reference, a tolerance file) are relative to the suite file.

    defaults:                         # every case's, unless the case sets its own
      modes: [embedded]               # embedded, grpc, ray: each case runs once per mode
      overrides: {time.stop: 3600}    # as `federation run --set/--stop`: merged, the case's win
      tolerances: {default: {rtol: 0.01, ttol: 10}, variables: {grid.f: {atol: 0.005}}}
      timeout: 300                    # s per run; a run still going is stopped and fails its case
    cases:
      baseline:
        scenario: ../grid_furnace_vehicle/scenario.yaml
        reference: references/baseline.csv
        expect:
          - within: {variable: grid.f, min: 49.8, max: 50.2, from: 600}
          - final: {variable: furnace.T_chamber, value: 1300, atol: 5}
          - event: {variable: furnace.T_charge, crosses: 900, direction: up, before: 3000}

Tolerances are those of `federation compare` (federation.comparison.Tolerances): inline, as above (a
variable's entry takes the fields it does not name from `default`), or a tolerance file's path. A case's
tolerances are the defaults' with its own laid over them, field by field; its expectations are the
defaults' followed by its own.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from federation.clip import short_repr
from federation.comparison import Tolerance, Tolerances
from federation.comparison.tolerances import DEFAULT
from federation.errors import CarriesFields, ConfigurationError
from federation.runtime.modes import Mode
from federation.scenario import Problem, ScenarioError, format_problems
from federation.scenario.problems import pydantic_problems
from federation.scenario.source import read_yaml

__all__ = ["Bounds", "Case", "Event", "Expectation", "Final", "Suite", "SuiteError", "load_suite"]

TOLERANCE_FIELDS = ("atol", "rtol", "range_rtol", "ttol")


class SuiteError(CarriesFields, ConfigurationError):
    """The suite file is invalid: every problem, each at its key."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path, self.problems = path, list(problems)
        super().__init__(format_problems(path, self.problems))

    def __str__(self) -> str:
        return format_problems(self.path, self.problems)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    return value


class Bounds(_Strict):
    """`within`: the variable stays in [min, max] (either may be left out) from `from` until `to` (s)."""

    variable: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    start: float | None = Field(default=None, alias="from")
    end: float | None = Field(default=None, alias="to")

    finite_numbers = field_validator("min", "max", "start", "end")(_finite)

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"from {self.start:g} s is after to {self.end:g} s")
        return self


class Final(_Strict):
    """`final`: the variable's last value is `value`, within atol + rtol * |value|."""

    variable: str = Field(min_length=1)
    value: float
    atol: float = Field(0.0, ge=0)
    rtol: float = Field(0.0, ge=0)

    finite_numbers = field_validator("value", "atol", "rtol")(_finite)


class Event(_Strict):
    """`event`: the variable crosses `crosses` (upward, downward or either way) before `before` s (and not
    before `after` s, when given)."""

    variable: str = Field(min_length=1)
    crosses: float
    direction: Literal["up", "down", "either"] = "either"
    before: float
    after: float | None = None

    finite_numbers = field_validator("crosses", "before", "after")(_finite)

    @model_validator(mode="after")
    def _ordered(self) -> Event:
        if self.after is not None and self.after > self.before:
            raise ValueError(f"after {self.after:g} s is later than before {self.before:g} s")
        return self


class Expectation(_Strict):
    """One expectation that needs no reference: exactly one of `within`, `final`, `event`."""

    within: Bounds | None = None
    final: Final | None = None
    event: Event | None = None

    @model_validator(mode="after")
    def _one(self) -> Expectation:
        given = [name for name in ("within", "final", "event") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"an expectation is one of within, final or event, got {', '.join(given) or 'none'}")
        return self

    @property
    def check(self) -> Bounds | Final | Event:
        """The one expectation given."""
        found = self.within or self.final or self.event
        assert found is not None
        return found


class _ToleranceSpec(_Strict):
    atol: float | None = Field(default=None, ge=0)
    rtol: float | None = Field(default=None, ge=0)
    range_rtol: float | None = Field(default=None, ge=0)
    ttol: float | None = Field(default=None, ge=0)

    finite_numbers = field_validator(*TOLERANCE_FIELDS)(_finite)


class _TolerancesSpec(_Strict):
    file: str | None = None  # `tolerances: FILE`, a tolerance file of federation compare
    default: _ToleranceSpec = _ToleranceSpec()
    variables: dict[str, _ToleranceSpec] = {}

    @model_validator(mode="before")
    @classmethod
    def _file(cls, value: Any) -> Any:
        return {"file": value} if isinstance(value, str) else value


def _modes(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Settings(_Strict):
    """What a case sets and the defaults may set for every case."""

    modes: list[Mode] | None = Field(default=None, min_length=1)
    overrides: dict[str, Any] = {}
    reference: str | None = None
    reference_step: float | None = Field(default=None, gt=0)
    variables: list[str] | None = None
    tolerances: _TolerancesSpec | None = None
    expect: list[Expectation] = []
    timeout: float | None = Field(default=None, gt=0)

    one_mode_or_more = field_validator("modes", mode="before")(_modes)
    finite_numbers = field_validator("reference_step", "timeout")(_finite)

    @field_validator("modes")
    @classmethod
    def _distinct(cls, value: list[Mode] | None) -> list[Mode] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"a mode is named twice: {value}")
        return value


class _Case(_Settings):
    scenario: str = Field(min_length=1)


class _Suite(_Strict):
    name: str | None = None
    defaults: dict[str, Any] = {}
    cases: dict[str, dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class Case:
    """One case as it runs: its scenario (absolute), overrides, modes, reference and its tolerances, the
    variables to compare (None: the reference's), expectations and timeout (s, None: none)."""

    name: str
    scenario: Path
    overrides: Mapping[str, Any]
    modes: tuple[Mode, ...]
    reference: Path | None
    tolerances: Tolerances
    variables: tuple[str, ...] | None = None
    expect: tuple[Expectation, ...] = ()
    timeout: float | None = None
    reference_step: float | None = None


@dataclass(frozen=True)
class Suite:
    """A validated suite file: its name (default: the file's stem) and cases, in file order."""

    path: Path
    name: str
    cases: list[Case] = field(default_factory=list)

    def case(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; SuiteError listing every problem, each at its key, otherwise."""
    path = Path(path).resolve()
    try:
        _, data = read_yaml(path, "suite file", keys=tuple(_Suite.model_fields))
    except ScenarioError as exc:
        raise SuiteError(path, exc.problems) from None
    try:
        top = _Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(path, pydantic_problems(exc)) from None
    problems: list[Problem] = []
    defaults = _validated(_Settings, top.defaults, "defaults", problems)
    if problems or defaults is None:
        raise SuiteError(path, problems)
    cases = []
    for name, raw in top.cases.items():
        if not isinstance(raw, dict):  # pydantic checked it is a mapping
            continue
        spec = _validated(_Case, _merged(top.defaults, raw), f"cases.{name}", problems)
        if spec is not None:
            case = _resolve(path.parent, name, spec, problems)
            if case is not None:
                cases.append(case)
    if problems:
        raise SuiteError(path, problems)
    return Suite(path, top.name or path.stem, cases)


def _validated(model: type[_Settings], data: dict[str, Any], key: str, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems += [Problem(f"{key}.{p.key}" if p.key != "(root)" else key, p.message) for p in pydantic_problems(exc)]
        return None


def _merged(defaults: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, Any]:
    """The case's settings over the defaults': overrides and tolerances merged key by key, expectations added."""
    out = {**defaults, **case}
    if isinstance(defaults.get("overrides"), dict) and isinstance(case.get("overrides"), dict):
        out["overrides"] = {**defaults["overrides"], **case["overrides"]}
    if isinstance(defaults.get("expect"), list) and isinstance(case.get("expect"), list):
        out["expect"] = [*defaults["expect"], *case["expect"]]
    mine, theirs = case.get("tolerances"), defaults.get("tolerances")
    if isinstance(mine, dict) and isinstance(theirs, dict):
        out["tolerances"] = {
            "default": {**(theirs.get("default") or {}), **(mine.get("default") or {})},
            "variables": {**(theirs.get("variables") or {}), **(mine.get("variables") or {})},
        }
    return out


def _resolve(folder: Path, name: str, spec: _Case, problems: list[Problem]) -> Case | None:
    key = f"cases.{name}"
    scenario = (folder / spec.scenario).resolve()
    if not scenario.is_file():
        problems.append(Problem(f"{key}.scenario", f"no scenario file {short_repr(spec.scenario)} "
                                                   f"(looked for {scenario})"))
        return None
    bad = [k for k in spec.overrides if not isinstance(k, str) or "." not in k]
    if bad:
        problems.append(Problem(f"{key}.overrides", f"an override key is 'time.<field>' or '<federate>.<parameter>', "
                                                    f"got {short_repr(bad[0])}"))
        return None
    try:
        tolerances = _tolerances(folder, spec.tolerances)
    except ConfigurationError as exc:
        problems.append(Problem(f"{key}.tolerances", str(exc)))
        return None
    if spec.reference is None and not spec.expect:
        problems.append(Problem(key, "nothing to check: give a reference, expectations (expect), or both"))
        return None
    return Case(name, scenario, dict(spec.overrides), tuple(spec.modes or ("embedded",)),
                None if spec.reference is None else (folder / spec.reference).resolve(), tolerances,
                None if spec.variables is None else tuple(spec.variables), tuple(spec.expect), spec.timeout,
                spec.reference_step)


def _tolerances(folder: Path, given: _TolerancesSpec | None) -> Tolerances:
    """The case's Tolerances, by compare's rules: from a tolerance file (relative to the suite), or inline, a
    variable's entry taking the fields it does not name from the default; with no default at all (nothing
    given, or only variables), compare's default tube (DEFAULT), as a tolerance file without `default` has."""
    if given is None:
        return Tolerances(DEFAULT)
    if given.file is not None:
        return Tolerances.load(folder / given.file)
    named = {f: v for f in TOLERANCE_FIELDS if (v := getattr(given.default, f)) is not None}
    base = named if "default" in given.model_fields_set else {**asdict(DEFAULT), **named}
    default = Tolerance(**base)
    per_variable = {name: Tolerance(**{**base, **{f: v for f in TOLERANCE_FIELDS if (v := getattr(spec, f)) is not None}})
                    for name, spec in given.variables.items()}
    return Tolerances(default, per_variable)

