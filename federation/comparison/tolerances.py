"""Tolerances: the half-sizes of funnel's tube, globally and per variable, from code or from a YAML/JSON file."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
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
        entry takes the fields it does not name from that default. ConfigurationError names the file and key.
        """
        raise NotImplementedError
