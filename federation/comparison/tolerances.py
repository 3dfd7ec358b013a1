"""Tolerances: the half-sizes of funnel's tube, globally and per variable, from code or from a YAML/JSON file."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from federation.errors import ConfigurationError

FIELDS = ("atol", "rtol", "range_rtol", "ttol")


@dataclass(frozen=True)
class Tolerance:
    """The tube around one reference signal, as funnel sizes it (each a half-width, 0 by default).

    atol: absolute, in the signal's unit; rtol: relative to the local value |y|; range_rtol: relative to the
    reference's range (max - min), csv-compare's relative tolerance; ttol: absolute in time (s), so that an
    event shifted by up to ttol stays inside.
    """

    atol: float = 0.0
    rtol: float = 0.0
    range_rtol: float = 0.0
    ttol: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"tolerance {f.name}: {value!r} is not a finite number >= 0")


@dataclass
class Tolerances:
    """The tolerance of every variable: `default`, and `per_variable` overrides by variable name."""

    default: Tolerance = field(default_factory=Tolerance)
    per_variable: dict[str, Tolerance] = field(default_factory=dict)

    def of(self, *names: str) -> Tolerance:
        """The tolerance of the first of `names` that has its own, else the default."""
        for name in names:
            if name in self.per_variable:
                return self.per_variable[name]
        return self.default

    @classmethod
    def load(cls, path: str | Path, **overrides: float) -> Tolerances:
        """A tolerance file (YAML or JSON): `default: {atol: .., rtol: .., range_rtol: .., ttol: ..}` and
        `variables: {name: {...}}`.

        `overrides` (the command line's --atol ... given) replace fields of the file's default; a variable's
        entry takes the fields it does not name from that default. A file with neither a default nor overrides has
        compare's default tube (DEFAULT). ConfigurationError names the file and the key.
        """
        path = Path(path)
        label = f"tolerance file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"{label}: cannot be read ({exc.strerror or exc})") from None
        try:
            import yaml  # JSON is YAML

            data = yaml.safe_load(text)
        except Exception as exc:  # yaml's errors say where
            raise ConfigurationError(f"{label}: not YAML or JSON: {exc}") from None
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ConfigurationError(f"{label}: expected a mapping with `default` and `variables`")
        unknown = sorted(set(map(str, data)) - {"default", "variables"})
        if unknown:
            raise ConfigurationError(f"{label}: unknown key(s) {', '.join(unknown)} (expected default, variables)")
        base = {} if "default" in data or overrides else _plain(DEFAULT)  # no tolerance at all: the default tube
        default = _tolerance({**base, **_fields(data.get("default") or {}, f"{label}, default"), **overrides},
                             f"{label}, default")
        variables = data.get("variables") or {}
        if not isinstance(variables, dict):
            raise ConfigurationError(f"{label}, variables: expected a mapping variable -> tolerances")
        per = {str(name): _tolerance({**_plain(default), **_fields(entry or {}, f"{label}, variables.{name}")},
                                     f"{label}, variables.{name}")
               for name, entry in variables.items()}
        return cls(default, per)


DEFAULT = Tolerance(range_rtol=1e-3)  # compare's tube when none is given: 0.1% of each signal's range


def tolerances_of(path: str | Path | None = None, **given: float | None) -> Tolerances:
    """The tolerances the command line gives: a file (`path`) with the options given (not None) replacing its
    default's fields; without a file, the options given (the others 0); with neither, DEFAULT."""
    values = {k: v for k, v in given.items() if v is not None}
    if path is not None:
        return Tolerances.load(path, **values)
    return Tolerances(_tolerance(values, "options") if values else DEFAULT)


def _plain(tol: Tolerance) -> dict[str, float]:
    return {k: getattr(tol, k) for k in FIELDS}


def _fields(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: expected a mapping of {', '.join(FIELDS)}, got {entry!r}")
    unknown = sorted(set(map(str, entry)) - set(FIELDS))
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)} (expected {', '.join(FIELDS)})")
    return {str(k): v for k, v in entry.items()}


def _tolerance(values: Mapping[str, Any], where: str) -> Tolerance:
    values = {k: _number(v) for k, v in values.items()}
    try:
        return Tolerance(**values)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _number(value: Any) -> Any:
    """YAML reads 1e-3 (no dot) as text: a number in text is taken as the number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value
