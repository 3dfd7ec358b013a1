"""A sweep's parameters: reading `--set`/`--param` values, ranges, the grid or Monte Carlo runs they expand to, run names."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Container, Iterable, Mapping, Sequence

from federation.errors import ConfigurationError

if TYPE_CHECKING:
    from federation.scenario import Scenario


@dataclass
class RunSpec:
    name: str
    params: dict[str, Any]


class SweepError(ConfigurationError, ValueError):
    """A bad --set/--param/--samples specification, or runs that would share a folder."""


_EXPONENT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def parse_value(text: str) -> Any:
    """A --set/--param value as the user means it: a YAML scalar, except that a number in exponent
    notation (1e3, 1.1e3, -2E-1: YAML 1.1 reads those as text) or inf / nan is a number, and text
    that is not valid YAML (@home, *a, [1,2) is that text, as typed."""
    import yaml

    text = text.strip()
    if _EXPONENT.fullmatch(text) or text.lower().lstrip("+-") in ("inf", "nan"):
        return float(text)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def split_setting(text: str, option: str, form: str) -> tuple[str, str]:
    """`KEY=VALUE` of an option (`--set`, `--param`) as (key, value text), neither empty."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise SweepError(f"{option} expects {form}, got {text!r}")
    return key, value


def parse_param(text: str) -> tuple[str, list[Any]]:
    """`fed.var=v1,v2,...` (values as parse_value reads them) or `fed.var=lo..hi` (a uniform range,
    Monte Carlo only)."""
    key, values = split_setting(text, "--param", "KEY=V1,V2,... or KEY=LO..HI")
    m = re.fullmatch(r"([^,]+?)\.\.([^,]+)", values)
    if m:
        lo, hi = parse_value(m.group(1)), parse_value(m.group(2))
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)) or lo > hi:
            raise SweepError(f"--param {key}: range {values!r} needs two numbers LO <= HI")
        return key, [_Range(lo, hi)]
    items = [v.strip() for v in values.split(",")]
    if "" in items:
        raise SweepError(f"--param {key}: an empty value in {values!r}")
    parsed = [parse_value(v) for v in items]
    for i, j in itertools.combinations(range(len(parsed)), 2):
        if parsed[i] == parsed[j] and isinstance(parsed[i], bool) == isinstance(parsed[j], bool):
            raise SweepError(f"--param {key}: {items[i]} and {items[j]} are the same value; give each value once")
    return key, parsed


@dataclass(frozen=True)
class _Range:
    lo: int | float
    hi: int | float

    def draw(self, rng: random.Random, key: str, integer: bool) -> int | float:
        if not integer:
            return rng.uniform(self.lo, self.hi)
        lo, hi = math.ceil(self.lo), math.floor(self.hi)
        if lo > hi:
            raise SweepError(f"--param {key}: the range {self.lo}..{self.hi} holds no integer")
        return rng.randint(lo, hi)


def integer_parameters(scenario: Scenario, keys: Iterable[str]) -> set[str]:
    """The `fed.param` keys that name an Integer parameter: a range draws integers for those."""
    found: set[str] = set()
    for key in keys:
        federate, _, name = key.partition(".")
        interface = scenario.interfaces.get(federate)
        variable = interface.variables.get(name) if interface is not None else None
        if variable is not None and variable.type == "Integer":
            found.add(key)
    return found


def expand(params: Sequence[tuple[str, list[Any]]], samples: int | None = None, seed: int = 0,
           integers: Container[str] = frozenset()) -> list[RunSpec]:
    """Every combination (grid), or `samples` Monte Carlo draws (uniform over each list or range;
    whole numbers for the keys in `integers`)."""
    keys = [k for k, _ in params]
    if len(set(keys)) != len(keys):
        raise SweepError(f"a parameter is given twice: {keys}")
    if samples is None:
        for key, values in params:
            if any(isinstance(v, _Range) for v in values):
                raise SweepError(f"--param {key}: a range needs --samples (Monte Carlo)")
        combos = [dict(zip(keys, combo)) for combo in itertools.product(*(v for _, v in params))]
        return [RunSpec(run_name(c), c) for c in combos]
    if samples < 1:
        raise SweepError("--samples must be at least 1")
    rng = random.Random(seed)
    specs = []
    for i in range(samples):
        draw: dict[str, Any] = {}
        for key, values in params:
            choice = rng.choice(values)
            draw[key] = choice.draw(rng, key, key in integers) if isinstance(choice, _Range) else choice
        specs.append(RunSpec(f"sample-{i:04d}-{_digest(draw)}", draw))
    return specs


def _digest(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]


def run_name(params: Mapping[str, Any]) -> str:
    """A readable, deterministic folder name (a digest when that would be too long)."""
    text = "__".join(f"{k}={v}" for k, v in params.items()) or "base"
    safe = re.sub(r"[^A-Za-z0-9._=+-]", "_", text)
    return safe if len(safe) <= 100 else f"run-{_digest(params)}"
