"""What validation reports: one Problem per offending key, and the error that carries them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from federation.clip import clip, short_repr
from federation.errors import CarriesFields, ConfigurationError

__all__ = ["Problem", "ScenarioError", "format_problems", "pydantic_problems"]


@dataclass(frozen=True)
class Problem:
    """One validation problem: a dotted key into the scenario file ('connections[2]', 'federates.grid.fmu')."""

    key: str
    message: str

    def __post_init__(self) -> None:
        # Keys are made of names, messages quote values: a hostile file must not make either unbounded.
        object.__setattr__(self, "key", clip(self.key, 300))
        object.__setattr__(self, "message", clip(self.message))


def format_problems(path: Path, problems: Sequence[Problem]) -> str:
    """One '<file>: <key>: <message>' line per problem."""
    return "\n".join(f"{path}: {p.key}: {p.message}" for p in problems)


class ScenarioError(CarriesFields, ConfigurationError):
    """The scenario file is invalid; carries every problem found."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(format_problems(path, self.problems))

    def __str__(self) -> str:
        return format_problems(self.path, self.problems)


def _loc_to_key(loc: Sequence[int | str]) -> str:
    key = ""
    for index, part in enumerate(loc):
        if part == "[key]":
            continue
        if isinstance(part, int) and loc[index + 1:index + 2] != ("[key]",):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(root)"


_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "string_too_short": "must not be empty",
}


def pydantic_problems(error: ValidationError) -> list[Problem]:
    """A pydantic validation error as problems, each at the dotted key of the file it concerns."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        message = _PYDANTIC_MESSAGES.get(item["type"], item["msg"]).removeprefix("Value error, ")
        if item["loc"][-1:] == ("[key]",):  # a mapping key (a name) YAML read as a number or boolean
            message = f"the name {short_repr(item['input'])} must be a string: quote it"
        elif item["type"] not in _PYDANTIC_MESSAGES and item["type"] != "value_error":
            message += f" (got {short_repr(item['input'])})"
        problems.append(Problem(_loc_to_key(item["loc"]), message))
    return problems
