"""A scenario's connections and variable references: `federate.variable`, 'a.x -> b.y' or {from, to} with an
optional stated unit conversion (factor, offset), as the scenario file writes them; no I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from federation.clip import short_repr
from federation.names import MAX_NAME_LENGTH

__all__ = ["IDENTIFIER", "IDENTIFIER_RULE", "Connection", "parse_reference"]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,%d}\Z" % (MAX_NAME_LENGTH - 1))  # they name columns, classes
IDENTIFIER_RULE = f"an identifier (a letter or '_', then letters, digits or '_') of at most {MAX_NAME_LENGTH} characters"
_BAD_VARIABLE_NAME = re.compile(r"\s|->")
_CONNECTION = re.compile(r"^\s*(\S+)\s*->\s*(\S+)\s*$")


# --------------------------------------------------------------------------------------------------------- references

def parse_reference(text: str) -> tuple[str, str]:
    """Split 'federate.variable' at the first dot; raise ValueError when malformed."""
    federate, sep, variable = text.strip().partition(".")
    if not sep or not federate or not variable:
        raise ValueError(f"{short_repr(text)} is not a 'federate.variable' reference")
    if not IDENTIFIER.match(federate):
        raise ValueError(f"{short_repr(text)}: federate name {short_repr(federate)} is not {IDENTIFIER_RULE}")
    if _BAD_VARIABLE_NAME.search(variable):
        raise ValueError(f"{short_repr(text)}: variable name {short_repr(variable)} contains whitespace or '->'")
    return federate, variable


@dataclass(frozen=True)
class Connection:
    """A data connection from one federate's output to another federate's input."""

    src_federate: str
    src_variable: str
    dst_federate: str
    dst_variable: str
    # A unit conversion the scenario states, as SSP's LinearTransformation: input = factor * output + offset;
    # it replaces the one the units' definitions give (federation.scenario.units). None: not stated.
    factor: float | None = None
    offset: float | None = None

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}"

    @property
    def src(self) -> str:
        return f"{self.src_federate}.{self.src_variable}"

    @property
    def dst(self) -> str:
        return f"{self.dst_federate}.{self.dst_variable}"

    @classmethod
    def parse(cls, value: object) -> Connection:
        """From 'a.x -> b.y' or {from: a.x, to: b.y} (optionally with factor and offset); raise ValueError when
        malformed."""
        if isinstance(value, Connection):
            return value
        if isinstance(value, str):
            match = _CONNECTION.match(value)
            if match is None:
                raise ValueError(f"{short_repr(value)} is not of the form 'federate.output -> federate.input'")
            src, dst = match.group(1), match.group(2)
        elif isinstance(value, Mapping):
            if (not {"from", "to"} <= set(value) <= {"from", "to", *_CONVERSION_KEYS}
                    or not all(isinstance(value[k], str) for k in ("from", "to"))):
                raise ValueError("a connection mapping needs the string keys 'from' and 'to' (and optionally "
                                 f"'factor' and 'offset', numbers), got {short_repr(dict(value))}")
            src, dst = value["from"], value["to"]
        else:
            raise ValueError(f"a connection is 'a.x -> b.y' or {{from: a.x, to: b.y}}, got {short_repr(value)}")
        stated = [_conversion_number(key, value[key]) if isinstance(value, Mapping) and key in value else None
                  for key in _CONVERSION_KEYS]
        return cls(*parse_reference(src), *parse_reference(dst), *stated)

    @property
    def stated(self) -> bool:
        """Whether the scenario states this connection's unit conversion (factor and/or offset)."""
        return self.factor is not None or self.offset is not None

    def written(self) -> str | dict[str, object]:
        """As a scenario file writes it: 'a.x -> b.y', or a mapping when it states a conversion."""
        if not self.stated:
            return str(self)
        return {"from": self.src, "to": self.dst,
                **{key: number for key in _CONVERSION_KEYS if (number := getattr(self, key)) is not None}}


_CONVERSION_KEYS = ("factor", "offset")


def _conversion_number(key: str, value: object) -> float:
    """A connection's stated factor or offset: a finite number (a factor of 0 would feed a constant).
    A string that is one is read as it (PyYAML reads 1e3, without a dot, as a string), as Seconds are."""
    try:
        number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"'{key}' must be a finite number, got {short_repr(value)}")
    if key == "factor" and number == 0:
        raise ValueError("'factor' must not be 0 (the input would not depend on the output)")
    return number
