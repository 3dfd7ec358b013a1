"""Pydantic models of scenario YAML files and their complete validation, done before anything starts."""

from __future__ import annotations

import difflib
import hashlib
import inspect
import io
import json
import logging
import math
import re
import sys
import zipfile
from collections.abc import Callable, Collection, Container, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy
import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, FiniteFloat, PlainSerializer, PlainValidator,
                      PrivateAttr, StringConstraints, ValidationError, model_validator)

from federation.interfaces import (REMOTE, FederateInterface, InterfaceError, VariableInfo,
                                   declared_interface, fmu_interface, load_python_class, python_interface,
                                   replay_interface, units_compatible)
from federation.clip import clip, short_repr
from federation.errors import CarriesFields
from federation.fmu_binary import check_fmu_binary
from federation.names import COORDINATOR_SITE, MAX_NAME_LENGTH, name_problem
from federation.rti.time import END_OF_TIME
from federation.security.tunable import untunable

log = logging.getLogger(__name__)

__all__ = [
    "Connection",
    "FederateSpec",
    "InteractionSpec",
    "OutputSpec",
    "Problem",
    "Scenario",
    "ScenarioError",
    "TimeSpec",
    "format_problems",
    "load_scenario",
    "parse_reference",
]

FederateKind = Literal["fmu", "python", "replay"]
ParameterValue = float | int | bool | str
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,%d}\Z" % (MAX_NAME_LENGTH - 1))  # they name columns, classes
_IDENTIFIER_RULE = f"an identifier (a letter or '_', then letters, digits or '_') of at most {MAX_NAME_LENGTH} characters"
_BAD_VARIABLE_NAME = re.compile(r"\s|->")
_CONNECTION = re.compile(r"^\s*(\S+)\s*->\s*(\S+)\s*$")
_SETTABLE_CAUSALITIES = frozenset({"parameter", "structuralParameter", "input"})
_NS_PER_S = 1e9
_PATH_MAX = 4096  # Linux's PATH_MAX, the longest of the usual file systems'
_LAST_SECOND = END_OF_TIME / _NS_PER_S  # logical time is int64 nanoseconds: about 4.6e9 s (146 years)
_FLOAT32_MAX = float(numpy.finfo(numpy.float32).max)
_EXCHANGED_TYPES = ("Real", "Integer", "Boolean")  # what travels as a number through the RTI


# ----------------------------------------------------------------------------------------------------------- problems

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


class ScenarioError(CarriesFields, Exception):
    """The scenario file is invalid; carries every problem found."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(format_problems(path, self.problems))

    def __str__(self) -> str:
        return format_problems(self.path, self.problems)


# --------------------------------------------------------------------------------------------------------- references

def parse_reference(text: str) -> tuple[str, str]:
    """Split 'federate.variable' at the first dot; raise ValueError when malformed."""
    federate, sep, variable = text.strip().partition(".")
    if not sep or not federate or not variable:
        raise ValueError(f"{short_repr(text)} is not a 'federate.variable' reference")
    if not _IDENTIFIER.match(federate):
        raise ValueError(f"{short_repr(text)}: federate name {short_repr(federate)} is not {_IDENTIFIER_RULE}")
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
        """From 'a.x -> b.y' or {from: a.x, to: b.y}; raise ValueError when malformed."""
        if isinstance(value, Connection):
            return value
        if isinstance(value, str):
            match = _CONNECTION.match(value)
            if match is None:
                raise ValueError(f"{short_repr(value)} is not of the form 'federate.output -> federate.input'")
            src, dst = match.group(1), match.group(2)
        elif isinstance(value, Mapping):
            if set(value) != {"from", "to"} or not all(isinstance(v, str) for v in value.values()):
                raise ValueError("a connection mapping needs exactly the string keys 'from' and 'to', "
                                 f"got {short_repr(dict(value))}")
            src, dst = value["from"], value["to"]
        else:
            raise ValueError(f"a connection is 'a.x -> b.y' or {{from: a.x, to: b.y}}, got {short_repr(value)}")
        return cls(*parse_reference(src), *parse_reference(dst))


def _parameter_value(value: object) -> ParameterValue:
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():  # numpy scalar, e.g. from a sweep
        value = item()
    if not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"a parameter value must be a number, boolean or string, got {short_repr(value)}")
    return value


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number of seconds, got {str(value).lower()}")
    return value


def _path_length(value: object) -> object:
    if isinstance(value, str) and len(value) > _PATH_MAX:  # resolving it would walk every one of its parts
        raise ValueError(f"a path of {len(value):,} characters names no file (file systems take at most {_PATH_MAX})")
    return value


def _none_is_empty(empty: Callable[[], object]) -> Callable[[object], object]:
    return lambda value: empty() if value is None else value


# A key given with every item commented out reads as null: it lists nothing (an absent key keeps its default,
# so `expose:` left empty exposes nothing rather than everything).
_NULL_IS_EMPTY_LIST = BeforeValidator(_none_is_empty(list))
_NULL_IS_EMPTY_DICT = BeforeValidator(_none_is_empty(dict))


ModelPath = Annotated[Path, BeforeValidator(_path_length)]
ConnectionItem = Annotated[Connection, PlainValidator(Connection.parse), PlainSerializer(str)]
# Not StrictFloat: PyYAML reads '1e6' (no dot) as a string, which lax parsing turns into the number a user means;
# only YAML booleans, which lax parsing would take as 1.0 / 0.0, are refused.
Seconds = Annotated[FiniteFloat, BeforeValidator(_not_bool)]
ParameterItem = Annotated[ParameterValue, PlainValidator(_parameter_value)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# ------------------------------------------------------------------------------------------------------------- models

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeSpec(_Strict):
    """Simulated time interval [start, stop] in seconds and the default communication step."""

    start: Seconds = 0.0
    stop: Seconds
    step: Seconds


class FederateSpec(_Strict):
    """One federate: exactly one of an FMU, a Python model class or a replay CSV."""

    fmu: ModelPath | None = None
    python: str | None = None
    replay: ModelPath | None = None
    owner: NonEmptyStr
    step: Seconds | None = None
    parameters: Annotated[dict[str, ParameterItem], _NULL_IS_EMPTY_DICT] = Field(default_factory=dict)
    # absent: what the scenario connects or records (several owners), every output (one owner); Scenario.exposed
    expose: Annotated[list[str] | None, _NULL_IS_EMPTY_LIST] = None
    # Parameters the owner lets the federation set (scenario values, --set, sweeps); absent: any
    # parameter given in the scenario. Enforced by the owner's host (federation.security.tunable).
    tunable: Annotated[list[str] | None, _NULL_IS_EMPTY_LIST] = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> FederateSpec:
        given = [name for name in ("fmu", "python", "replay") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of 'fmu', 'python' or 'replay' is required"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self

    @property
    def kind(self) -> FederateKind:
        if self.fmu is not None:
            return "fmu"
        return "python" if self.python is not None else "replay"

    @property
    def source(self) -> str:
        """The fmu/python/replay value as written in the file."""
        return str(getattr(self, self.kind))


class InteractionSpec(_Strict):
    """An interaction class: its parameters, who may send it, and which inputs receive which parameter."""

    parameters: list[str]
    publishers: Annotated[list[str], _NULL_IS_EMPTY_LIST] = Field(default_factory=list)
    to: Annotated[dict[str, str], _NULL_IS_EMPTY_DICT] = Field(default_factory=dict)


class OutputSpec(_Strict):
    """Where results go and which 'federate.variable' outputs are recorded (default: all exposed outputs)."""

    dir: Path = Path("results")
    variables: Annotated[list[str] | None, _NULL_IS_EMPTY_LIST] = None  # absent: every exposed output


class Scenario(_Strict):
    """A validated scenario; build it with load_scenario(), which also reads every federate's interface."""

    federation: NonEmptyStr
    time: TimeSpec
    federates: Annotated[dict[str, FederateSpec], Field(min_length=1)]
    connections: Annotated[list[ConnectionItem], _NULL_IS_EMPTY_LIST] = Field(default_factory=list)
    interactions: Annotated[dict[str, InteractionSpec], _NULL_IS_EMPTY_DICT] = Field(default_factory=dict)
    output: OutputSpec = Field(default_factory=OutputSpec)
    # Where relative model paths and python modules resolve (relative to this file's folder); absent: this
    # file's folder. A copy of a scenario written elsewhere (the Python API writes one into its run's folder)
    # so still finds the models and modules of the folder it was made in.
    base: ModelPath | None = None

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str | None = PrivateAttr(default=None)
    _interfaces: dict[str, FederateInterface] = PrivateAttr(default_factory=dict)
    _overrides: dict[str, object] = PrivateAttr(default_factory=dict)
    _mentions: dict[str, list[str]] | None = PrivateAttr(default=None)
    _multi_owner: bool | None = PrivateAttr(default=None)
    _unchecked: list[Problem] = PrivateAttr(default_factory=list)

    @property
    def path(self) -> Path:
        """Absolute path of the scenario file."""
        if self._path is None:
            raise ValueError("scenario was not loaded from a file (use load_scenario)")
        return self._path

    @property
    def interfaces(self) -> dict[str, FederateInterface]:
        """Federate name -> interface, filled by load_scenario."""
        return self._interfaces

    @property
    def unchecked(self) -> list[Problem]:
        """What validation left unchecked, and why (a python federate not imported under --no-exec...)."""
        return list(self._unchecked)

    @property
    def overrides(self) -> dict[str, object]:
        """The overrides applied by load_scenario."""
        return dict(self._overrides)

    def step_of(self, federate: str) -> float:
        """The federate's communication step, default time.step."""
        step = self.federates[federate].step
        return self.time.step if step is None else step

    def multi_owner(self) -> bool:
        """Whether the federates belong to more than one owner (site): then exposure is deny-by-default."""
        if self._multi_owner is None:  # asked for every connection checked: counted once
            self._multi_owner = len({spec.owner for spec in self.federates.values()}) > 1
        return self._multi_owner

    def _mentioned_outputs(self, federate: str) -> list[str]:
        """The federate's variables the scenario connects to an input or records, in the order first named."""
        if self._mentions is None:  # built once: a scenario is not changed once loaded
            mentions: dict[str, dict[str, None]] = {}
            refs = [(c.src_federate, c.src_variable) for c in self.connections]
            for ref in self.output.variables or []:
                try:
                    refs.append(parse_reference(ref))
                except ValueError:
                    continue  # a problem of its own, at its own key
            for name, variable in refs:
                mentions.setdefault(name, {})[variable] = None
            self._mentions = {name: list(variables) for name, variables in mentions.items()}
        return self._mentions.get(federate, [])

    def declared_outputs(self, federate: str) -> list[str] | None:
        """What the federate shares, as far as the scenario alone tells, without its model: its `expose`
        list; without one, in a scenario of several owners, the outputs it connects or records; None when
        only its model tells (one owner, no expose list: every output it has)."""
        spec = self.federates[federate]
        if spec.expose is not None:
            return list(dict.fromkeys(spec.expose))
        if self.multi_owner():
            return self._mentioned_outputs(federate)
        return None

    def exposure_rule(self, federate: str) -> str:
        """How the federate's exposure is decided, in words (what `validate` says of it)."""
        if self.federates[federate].expose is not None:
            return "its expose list"
        if self.multi_owner():
            return "no expose list: only what the scenario connects or records"
        return "no expose list, one owner: every output"

    def exposed(self, federate: str) -> list[str]:
        """Outputs that leave the federate's host, for other federates and the recorder to see.

        Decided by the scenario alone, so that every mode, host and coordinator agrees without any
        model: the `expose` list, in its order; without one, in a scenario of several owners, only
        the outputs that it connects to an input or records (deny-by-default: an owner shares
        nothing the scenario does not use); in a scenario of one owner, every output that can
        travel, in its model's order.
        """
        interface = self._interfaces.get(federate)
        named = self.declared_outputs(federate)
        if named is None:  # a String or array output cannot travel as a number: not unless named (an error)
            return [] if interface is None else [name for name in interface.outputs()
                                                 if _travels(interface.variables[name])]
        if interface is None or interface.kind == REMOTE:
            return named
        return [name for name in named if (info := interface.variables.get(name)) is not None
                and info.causality == "output"]

    def shared(self) -> dict[str, dict[str, list[str]]]:
        """Owner -> federate -> the outputs that leave the owner's host (its federates' exposures)."""
        owners: dict[str, dict[str, list[str]]] = {}
        for name, spec in self.federates.items():
            owners.setdefault(spec.owner, {})[name] = self.exposed(name)
        return owners

    def recorded(self) -> list[tuple[str, str]]:
        """(federate, variable) pairs to record: output.variables, default every exposed output (file order)."""
        if self.output.variables is not None:
            return [parse_reference(ref) for ref in self.output.variables]
        return [(name, var) for name in self.federates for var in self.exposed(name)]

    def recording_notes(self) -> list[Problem]:
        """Warnings, not errors: the outputs a federate's default expose list leaves out because they cannot
        travel (arrays, String), and that nothing at all will be recorded, when so."""
        notes: list[Problem] = []
        types = f"{', '.join(_EXCHANGED_TYPES[:-1])} or {_EXCHANGED_TYPES[-1]}"
        for name in self.federates:
            interface = self._interfaces.get(name)
            if self.declared_outputs(name) is not None or self.output.variables is not None or interface is None:
                continue  # what is exposed or recorded is named: nothing is left out unsaid
            left = [f"{var} ({'an array' if info.array else f'a {info.type} variable'})"
                    for var in interface.outputs() if not _travels(info := interface.variables[var])]
            if left:
                notes.append(Problem(f"federates.{name}", "outputs not exposed nor recorded, as only scalar "
                                                          f"{types} values travel: {', '.join(left)}"))
        if not self.recorded():
            if self.output.variables is not None:
                key, why = "output.variables", "the list is empty"
            else:
                def whys(spec: FederateSpec) -> str:
                    if spec.expose == []:
                        return "expose is empty"
                    return ("no expose list, and none of its outputs is connected" if spec.expose is None
                            and self.multi_owner() else "no output that can travel")
                each = "; ".join(f"{name}: {whys(spec)}" for name, spec in self.federates.items())
                key, why = "federates", f"no federate exposes a scalar {types} output ({each})"
            notes.append(Problem(key, f"nothing will be recorded: {why}; results.csv will hold only the time "
                                      "column and no results.png will be drawn"))
        return notes

    def folder(self) -> Path:
        """The folder that relative model paths and python modules resolve against: `base` (relative to the
        scenario file's folder) when given, else the scenario file's folder."""
        folder = self.path.parent
        return folder if self.base is None else (folder / self.base).resolve()

    def _relative_to_file(self, federate: str, value: Path | None, kind: str) -> Path:
        if value is None:
            raise ValueError(f"federate {short_repr(federate)} is not a {kind} federate")
        return (self.folder() / value).resolve()

    def fmu_path(self, federate: str) -> Path:
        """Absolute FMU path (relative paths are relative to the scenario's folder())."""
        return self._relative_to_file(federate, self.federates[federate].fmu, "fmu")

    def replay_path(self, federate: str) -> Path:
        """Absolute replay CSV path (relative paths are relative to the scenario's folder())."""
        return self._relative_to_file(federate, self.federates[federate].replay, "replay")

    def search_paths(self) -> list[Path]:
        """Where Python federates' modules are imported from: the scenario's folder(), then, when that folder is
        inside a package (it holds an __init__.py), the folder above the package's top, so that a dotted
        name (`examples.grid_furnace_vehicle.ems`) resolves too. Never the working directory: a scenario
        means the same from any folder."""
        folder = self.folder()
        top = folder
        while (top / "__init__.py").is_file() and top.parent != top:
            top = top.parent
        return [folder] if top == folder else [folder, top]

    def inputs_of(self, federate: str) -> list[Connection]:
        """Connections feeding the federate, in file order."""
        return [c for c in self.connections if c.dst_federate == federate]

    def shared_digest(self) -> str:
        """A digest of what every site's copy of the scenario must agree on: time, federates with their
        owners, steps and expose lists, connections, interactions. Not what an owner keeps to itself
        (parameters, model files, tunables) nor the coordinator's output section."""
        shared = {
            "federation": self.federation,
            "time": self.time.model_dump(),
            "federates": {name: [spec.owner, self.step_of(name), spec.expose] for name, spec in self.federates.items()},
            "connections": sorted(str(c) for c in self.connections),
            "interactions": {name: spec.model_dump() for name, spec in self.interactions.items()},
        }
        return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()

    def sha256(self) -> str:
        """SHA-256 of the scenario file bytes as loaded."""
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return self._sha256


# ------------------------------------------------------------------------------------------------------ YAML reading

# What one YAML file may cost to read: a scenario or policy is a few KB (the flagship's is 1.5 KB). The
# limits bound the document as the tool will walk it, an alias counting for all it stands for: without
# them, a 1 KB file of nested aliases (or merge keys) stands for billions of values, and 10,000 nested
# brackets overflow Python's stack.
MAX_FILE_BYTES = 1024 * 1024
MAX_VALUES = 50_000  # scalars, lists and mappings, as expanded
MAX_TEXT = MAX_FILE_BYTES  # characters of all scalars, as expanded: no more than the largest file holds
MAX_DEPTH = 50  # lists and mappings within each other (a scenario needs 6)
_LARGEST_FLOAT = sys.float_info.max
_MAX_NUMBER_CHARACTERS = 400  # 1.8e308, the largest number the tool can use, has 309 digits


def _beyond_numbers(what: str) -> str:
    return f"{what} is beyond any number this tool uses (the largest is about {_LARGEST_FLOAT:.2g})"


class _TooLarge(CarriesFields, yaml.MarkedYAMLError):
    """The document is beyond a reading limit (its position says where it went beyond)."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(None, None, message, mark)


class _Refused(CarriesFields, yaml.constructor.ConstructorError):
    """A mapping this reader refuses (a duplicate key...), in its own words: they quote no more than a key."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(None, None, message, mark)


class _NumberTooLarge(CarriesFields, yaml.constructor.ConstructorError):
    """A number in the file that no number the tool uses can hold; `node` says where (its key)."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(None, None, message, node.start_mark)
        self.node = node


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last one), and any document
    beyond the reading limits, counted while it is composed so that no limit is passed by much."""

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values = 0
        self._text = 0
        self._expanded: dict[int, tuple[int, int]] = {}  # id(anchored node) -> (values, characters) it stands for
        self._open: set[str] = set()  # anchors of the nodes being composed: an alias to one is recursive

    def _count(self, values: int, text: int, mark: Any, what: str) -> None:
        self._values += values
        self._text += text
        if self._values > MAX_VALUES:
            raise _TooLarge(f"{what} makes the document more than {MAX_VALUES:,} values (lists, mappings and "
                            "scalars, an alias counting for every value it repeats)", mark)
        if self._text > MAX_TEXT:
            raise _TooLarge(f"{what} makes the document more than {MAX_TEXT:,} characters of text (an alias "
                            "counting for all the text it repeats)", mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = self.anchors.get(str(event.anchor))
            if node is not None:
                if event.anchor in self._open:
                    raise _TooLarge(f"the alias *{clip(str(event.anchor), 40)} stands for a list or mapping "
                                    "that holds it: it would never end", event.start_mark)
                values, text = self._expanded[id(node)]
                self._count(values, text, event.start_mark, f"the alias *{clip(str(event.anchor), 40)}")
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise _TooLarge(f"lists and mappings nested more than {MAX_DEPTH} deep", event.start_mark)
        before = (self._values, self._text)
        self._count(1, len(event.value) if isinstance(event, yaml.ScalarEvent) else 0, event.start_mark, "this value")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)
        if anchor is not None:
            self._expanded[id(node)] = (self._values - before[0], self._text - before[1])
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value)
        if len(text) > _MAX_NUMBER_CHARACTERS:  # Python would refuse to read it (ValueError) past 4,300 digits
            raise _NumberTooLarge(node, _beyond_numbers(f"an integer of {len(text):,} characters"))
        value: int = super().construct_yaml_int(node)
        if abs(value) > _LARGEST_FLOAT:
            raise _NumberTooLarge(node, _beyond_numbers(f"the integer {clip(text, 40)}"))
        return value

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if math.isinf(value) and "inf" not in str(node.value).lower():  # written as digits, not .inf
            raise _NumberTooLarge(node, f"{clip(str(node.value), 40)} is beyond the largest 64-bit float "
                                        f"({_LARGEST_FLOAT:.2g})")
        return value


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", _UniqueKeyLoader.construct_yaml_float)


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    merged: dict[object, object] = {}
    seen: dict[object, object] = {}
    values: dict[object, object] = {}
    merges = 0
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:  # `<<: *base`: its keys come first, explicit keys override them
            merges += 1
            if merges > 1:
                raise _Refused("duplicate merge key '<<' (merge several mappings with `<<: [*a, *b]`)",
                               key_node.start_mark)
            merged = _merged_mapping(loader, value_node)
            continue
        if key_node.tag == "tag:yaml.org,2002:value":  # a lone '=' key: a string, as yaml.safe_load reads it
            key_node.tag = "tag:yaml.org,2002:str"
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):  # a complex key (`? [a, b]`)
            raise _Refused(f"a mapping key must be a plain value, got a {type(key).__name__}", key_node.start_mark)
        if key in seen:  # also 1 and true: one key to Python (1 == True), so one would be lost
            same = ("" if type(seen[key]) is type(key)
                    else f" (the same key as {short_repr(seen[key])} once read: quote names)")
            raise _Refused(f"duplicate key {short_repr(key)}{same}", key_node.start_mark)
        seen[key] = key
        values[key] = loader.construct_object(value_node, deep=deep)
    return {**merged, **values}


def _merged_mapping(loader: _UniqueKeyLoader, node: yaml.Node) -> dict[object, object]:
    """What a merge key's value contributes: a mapping, or a list of them where earlier ones win (YAML 1.1).

    Each merged mapping is built once, as a dict (aliases share it): merging never copies a node's
    pairs, so a chain of merges is as cheap as a chain of aliases (PyYAML's own flattening is not).
    """
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    merged: dict[object, object] = {}
    for source in sources:
        if not isinstance(source, yaml.MappingNode):
            raise _Refused("a merge key '<<' takes a mapping or a list of mappings, got a "
                           f"{getattr(source, 'id', 'node')}", source.start_mark)
        mapping = loader.construct_object(source, deep=True)
        if not isinstance(mapping, dict):  # e.g. an !!omap or !!set
            raise _Refused(f"a merge key '<<' takes plain mappings, got a {type(mapping).__name__}",
                           source.start_mark)
        for key, value in mapping.items():
            merged.setdefault(key, value)
    return merged


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _archive_given(path: Path, raw: bytes, what: str) -> str:
    """What to say when a zip archive (an FMU, most likely) is given where a YAML file was expected."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            is_fmu = "modelDescription.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        is_fmu = False
    if is_fmu or path.suffix.lower() == ".fmu":
        return (f"{path.name} is an FMU, not a {what} (a YAML file, which names its FMUs); to see this FMU's "
                f"variables run `federation inspect {path}`")
    return f"{path.name} is a zip archive, not a {what} (a YAML file)"


def _key_of(root: yaml.Node, target: yaml.Node) -> str:
    """The dotted key ('federates.grid.parameters.H') at which `target` sits in the document under `root`."""
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, key = stack.pop()
        if node is target:
            return key or "(root)"
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = clip(str(key_node.value), 100) if isinstance(key_node, yaml.ScalarNode) else "?"
                child = f"{key}.{name}" if key else name
                stack += [(key_node, child), (value_node, child)]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, f"{key}[{index}]") for index, item in enumerate(node.value)]
    return "(yaml)"


def _yaml_problem(exc: yaml.YAMLError, root: yaml.Node | None) -> Problem:
    """A YAML error as a problem: where it is and what it is, never the text of the line (the file may be
    anything: a system file named by mistake), and PyYAML's own words about a token clipped short."""
    if isinstance(exc, _NumberTooLarge) and root is not None:
        return Problem(_key_of(root, exc.node), str(exc.problem))
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem("(yaml)", f"YAML syntax error: {clip(str(exc), 200)}")
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    if isinstance(exc, _TooLarge):
        return Problem("(yaml)", f"{where}{exc.problem}; refused")
    words = str(exc.problem) if isinstance(exc, _Refused) else _without_content(str(exc.problem or exc.context or "?"))
    return Problem("(yaml)", f"YAML syntax error: {where}{words}")


_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _without_content(words: str) -> str:
    """PyYAML's words about a YAML error, with what they quote of the file left out (an alias, a tag, a
    token) unless it is a character or two (a tab that cannot start a token) or a token's kind ('<scalar>')."""
    def shown(match: re.Match[str]) -> str:
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if len(quoted) <= 2 or re.fullmatch(r"<[\w ]+>", quoted) else "'...'"
    return clip(_QUOTED.sub(shown, words), 200)


def _read_bytes(path: Path, what: str) -> bytes:
    """The file's bytes, read no further than the size limit (a device such as /dev/zero never ends)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(path, [Problem("(file)", f"cannot read {what}: {exc.strerror or exc}")]) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(path, [Problem("(file)", f"the {what} is larger than {MAX_FILE_BYTES // 1024:,} KB, the "
                                                     f"most a {what} may be (they are a few KB)")])
    return raw


def _read_yaml(path: Path, what: str = "scenario file",
               keys: Collection[str] = ()) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes and its top-level mapping, read within the reading limits (MAX_FILE_BYTES, MAX_VALUES,
    MAX_TEXT, MAX_DEPTH); ScenarioError otherwise. Scenario and policy files are read by this one reader.

    A mapping holding none of `keys` is not such a file at all (another file named by mistake): it is
    refused as a whole, without naming its keys, which are that file's content.
    """
    raw = _read_bytes(path, what)
    if raw.startswith(b"PK\x03\x04") or zipfile.is_zipfile(io.BytesIO(raw)):  # YAML would say "special characters"
        raise ScenarioError(path, [Problem("(file)", _archive_given(path, raw, what))])
    loader = _UniqueKeyLoader(raw)
    root: yaml.Node | None = None
    try:
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise ScenarioError(path, [_yaml_problem(exc, root)]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise ScenarioError(path, [Problem("(root)", f"the top level must be a mapping, got {kind}")])
    if keys and data and not any(key in keys for key in data):
        raise ScenarioError(path, [Problem("(root)", f"not a {what}: none of its {len(data)} top-level keys is "
                                                     f"{' or '.join(repr(key) for key in keys)}")])
    return raw, data


def _apply_overrides(data: dict[str, Any], overrides: Mapping[str, object]) -> list[Problem]:
    """Set 'time.<field>' or '<federate>.<parameter>' in the raw data before validation."""
    problems: list[Problem] = []
    federates = data.get("federates")
    for key, value in overrides.items():
        head, sep, name = key.partition(".")
        where = f"overrides.{key}"
        if not sep or not name:
            problems.append(Problem(where, "an override key is 'time.<field>' or '<federate>.<parameter>'"))
        elif isinstance(value, int) and abs(value) > _LARGEST_FLOAT:  # as the file's numbers (_UniqueKeyLoader)
            problems.append(Problem(where, _beyond_numbers(f"an integer of about {value.bit_length() * 0.30103:,.0f} digits")))
        elif head == "time":
            section = data.setdefault("time", {})
            if isinstance(section, dict):
                section[name] = value
        elif isinstance(federates, dict) and isinstance(federates.get(head), dict):
            parameters = federates[head].setdefault("parameters", {})
            if isinstance(parameters, dict):
                parameters[name] = value
        else:
            problems.append(Problem(where, f"unknown federate {short_repr(head)}"))
    return problems


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


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        message = _PYDANTIC_MESSAGES.get(item["type"], item["msg"]).removeprefix("Value error, ")
        if item["loc"][-1:] == ("[key]",):  # a mapping key (a name) YAML read as a number or boolean
            message = f"the name {short_repr(item['input'])} must be a string: quote it"
        elif item["type"] not in _PYDANTIC_MESSAGES and item["type"] != "value_error":
            message += f" (got {short_repr(item['input'])})"
        problems.append(Problem(_loc_to_key(item["loc"]), message))
    return problems


# -------------------------------------------------------------------------------------------------- semantic checks

def _to_ns(seconds: float) -> int:
    return round(seconds * _NS_PER_S)


_VALUE_CHECKS: dict[str, Callable[[ParameterValue], bool]] = {
    "Real": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "String": lambda v: isinstance(v, str),
}


def _value_matches(var_type: str, value: ParameterValue) -> bool:
    """Whether a parameter value fits a variable type exactly (no bool-as-number, no float-as-Integer)."""
    check = _VALUE_CHECKS.get(var_type)
    return check is None or check(value)


def _out_of_range(info: VariableInfo, value: ParameterValue) -> str | None:
    """The range a numeric value falls outside (the FMI type's width, then the declared min/max), or None."""
    if isinstance(value, (bool, str)):
        return None
    if math.isnan(value):
        return "every range (it is not a number)"
    if math.isinf(value):  # `--set x=1e400`, or `.inf`: no model parameter means that
        return "every range (it is infinite)"
    if info.fmi_type == "Float32" and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
        return f"the range of Float32 (+/-{_FLOAT32_MAX:.8g}, beyond which it would become inf)"
    width = info.int_range
    if width is not None and not width[0] <= value <= width[1]:
        return f"the range of {info.fmi_type} [{width[0]}, {width[1]}]"
    if (info.min is not None and value < info.min) or (info.max is not None and value > info.max):
        return f"the declared range [{_bound_text(info.min, '-inf')}, {_bound_text(info.max, 'inf')}]"
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a name too long for the file system
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long for the file system
        return False


def _travels(info: VariableInfo) -> bool:
    """Whether the variable's values can travel through the RTI: one number each."""
    return info.type in _EXCHANGED_TYPES and not info.array


def _bound_text(bound: int | float | None, missing: str) -> str:
    text = missing if bound is None else repr(bound)  # in full: 1e+06 would hide the digits that matter
    return text.removesuffix(".0")


def _int_values(info: VariableInfo) -> tuple[int, int] | None:
    """The values an integer variable may take: its FMI type's, within its declared min/max or enumeration items."""
    width = info.int_range
    if width is None:
        return None
    lo = width[0] if info.min is None else max(width[0], math.ceil(info.min))
    hi = width[1] if info.max is None else min(width[1], math.floor(info.max))
    return lo, hi


def _narrows(src: VariableInfo, dst: VariableInfo) -> bool:
    """Whether an Integer connection could truncate: the source may send values the target's FMI type cannot hold."""
    values, dst_range = _int_values(src), dst.int_range
    return values is not None and dst_range is not None and not dst_range[0] <= values[0] <= values[1] <= dst_range[1]


def _exact_integers(real: VariableInfo) -> int:
    """The largest n such that a Real variable holds every integer in [-n, n] exactly (its mantissa's reach)."""
    return 2 ** 24 if real.fmi_type == "Float32" else 2 ** 53


def _type_mismatch(connection: Connection, src: VariableInfo, dst: VariableInfo) -> str | None:
    """Why an output cannot feed an input of another type or width, and what to do; None when it can.

    Values travel as doubles, so an Integer output feeds a Real input exactly as long as every value
    it may take is an integer the input holds exactly: that widening is the one conversion made.
    """
    src_type, dst_type = src.fmi_type or src.type, dst.fmi_type or dst.type
    head = f"type mismatch: {connection.src} is {src_type}, {connection.dst} is {dst_type}"
    if src.type == dst.type:
        return f"{head}, which cannot hold all its values" if _narrows(src, dst) else None
    values = _int_values(src)
    if src.type == "Integer" and dst.type == "Real" and values is not None:
        reach = _exact_integers(dst)
        if -reach <= values[0] and values[1] <= reach:
            return None
        bits = reach.bit_length() - 1
        return (f"{head}: an Integer feeds a Real input exactly only up to 2**{bits} in magnitude, and "
                f"{connection.src} may reach [{values[0]}, {values[1]}]; declare its min/max within "
                f"+/-2**{bits} in the model" + ("" if bits == 53 else ", or connect a Float64 input"))
    if src.type == "Real" and dst.type == "Integer":
        why = "a Real value may have a fraction, which an Integer input would lose"
    elif "Boolean" in (src.type, dst.type):
        why = "a Boolean is true or false, not a number"
    else:
        why = "no conversion is made between these types"
    return (f"{head}: {why}; only an Integer output may feed a Real input. Connect an input of the output's "
            "type, or convert the value inside one of the models")


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' with the candidates closest to a misspelt name (case aside), or ''."""
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(name.lower(), list(by_folded), n=3)
    if not close:
        return ""
    names = [repr(by_folded[c]) for c in close]
    return f"; did you mean {' or '.join(names) if len(names) < 3 else ', '.join(names[:-1]) + ' or ' + names[-1]}?"


class _AnyName:
    """Contains every name: no federate entry could be read, so no reference to one is reported unknown."""

    def __contains__(self, name: object) -> bool:
        return True


@dataclass
class _Unparsed:
    """What the cross-checks of a structurally invalid file skip, and the connections that did parse."""

    time: bool = False
    federates: Container[str] = frozenset()
    connections: list[tuple[int, Connection]] = field(default_factory=list)


def _valid(model: type[BaseModel], value: object) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _parsed_parts(data: Mapping[str, Any]) -> tuple[Scenario, _Unparsed]:
    """The parts of a structurally invalid scenario that validate alone, so that one run reports every problem."""
    unparsed = _Unparsed()
    time = _valid(TimeSpec, data.get("time"))
    unparsed.time = time is None
    federates: dict[str, FederateSpec] = {}
    raw_federates = data.get("federates")
    if isinstance(raw_federates, Mapping):
        failed: set[str] = set()
        for name, entry in raw_federates.items():
            spec = _valid(FederateSpec, entry)
            if spec is None:
                failed.add(str(name))
            else:
                federates[str(name)] = spec
        unparsed.federates = failed
    else:
        unparsed.federates = _AnyName()
    raw_connections = data.get("connections")
    for index, item in enumerate(raw_connections if isinstance(raw_connections, list) else []):
        try:
            unparsed.connections.append((index, Connection.parse(item)))
        except ValueError:
            pass  # already a structural problem
    raw_interactions = data.get("interactions")
    interactions = {str(name): spec for name, entry in
                    (raw_interactions.items() if isinstance(raw_interactions, Mapping) else [])
                    if (spec := _valid(InteractionSpec, entry)) is not None}
    scenario = Scenario.model_construct(
        federation=name if isinstance(name := data.get("federation"), str) else "",
        time=time if time is not None else TimeSpec.model_construct(start=0.0, stop=0.0, step=0.0),
        federates=federates,
        connections=[c for _, c in unparsed.connections],
        interactions=interactions,
        output=_valid(OutputSpec, data.get("output", {})) or OutputSpec(),
    )
    return scenario, unparsed


class _Checker:
    """Cross-field checks of a structurally valid scenario against the federates' interfaces."""

    def __init__(self, scenario: Scenario, site: str | None = None, unparsed: _Unparsed | None = None,
                 run_code: bool = True) -> None:
        self.scenario = scenario
        self.site = site
        self.run_code = run_code
        self.unchecked: list[Problem] = []  # what was not checked, and why (--no-exec)
        self.unparsed = unparsed or _Unparsed(connections=list(enumerate(scenario.connections)))
        self.problems: list[Problem] = []
        self.drivers: dict[tuple[str, str], str] = {}

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message))

    def known_federate(self, key: str, federate: str, what: str = "federate") -> bool:
        """Whether the federate exists, after recording a problem if not (silent if its entry did not parse)."""
        if federate in self.scenario.federates:
            return True
        if federate not in self.unparsed.federates:
            self.add(key, f"unknown {what} {short_repr(federate)}{_did_you_mean(federate, self.scenario.federates)}")
        return False

    def run(self) -> list[Problem]:
        self.check_time()
        self.check_names()
        if self.scenario.base is not None and not _is_dir(self.scenario.folder()):
            self.add("base", f"{clip(str(self.scenario.folder()), 300)} is not a folder")
            return self.problems  # every model and module would be reported missing for it
        self.load_interfaces()
        for name in self.scenario.federates:
            self.check_federate(name)
            self.check_tunable(name)
        for index, connection in self.unparsed.connections:
            self.check_connection(f"connections[{index}]", connection)
        for name, interaction in self.scenario.interactions.items():
            self.check_interaction(name, interaction)
        self.check_output()
        return self.problems

    # -- time
    def within_time(self, key: str, seconds: float) -> bool:
        """Whether a time fits logical time (int64 nanoseconds), after recording a problem if not."""
        if abs(seconds) < _LAST_SECOND:
            return True
        self.add(key, f"{seconds:g} s is beyond the end of logical time (its range is +/-{_LAST_SECOND:.4g} s, "
                      "in integer nanoseconds)")
        return False

    def check_step(self, key: str, step: float, span_ns: int) -> None:
        if step <= 0:
            self.add(key, f"step must be > 0, got {step}")
        elif not self.within_time(key, step):
            return
        elif _to_ns(step) == 0:
            self.add(key, f"step {step} s is below the 1 ns resolution of logical time")
        elif span_ns > 0 and span_ns % _to_ns(step) != 0:
            self.add(key, f"step {step} s does not divide stop - start = {span_ns / _NS_PER_S} s")

    def check_time(self) -> None:
        time = self.scenario.time
        span_ns = 0  # unknown when `time` did not parse: federate steps are then checked alone
        if not self.unparsed.time and all([self.within_time("time.start", time.start),
                                                self.within_time("time.stop", time.stop)]):
            span_ns = _to_ns(time.stop) - _to_ns(time.start)
            if span_ns <= 0:
                self.add("time.stop", f"stop ({time.stop}) must be greater than start ({time.start})")
            self.check_step("time.step", time.step, span_ns)
        for name, spec in self.scenario.federates.items():
            if spec.step is not None:
                self.check_step(f"federates.{name}.step", spec.step, span_ns)

    # -- names
    def check_names(self) -> None:
        """Sites and the federation are named by one rule (federation.names), in every mode: what runs
        embedded also runs over gRPC and Ray, where those names become certificates, files and resources."""
        scenario = self.scenario
        if scenario.federation and (problem := name_problem("federation name", scenario.federation)):
            self.add("federation", problem)
        first: dict[str, str] = {}  # site, folded to lower case -> the spelling first met
        for name, spec in scenario.federates.items():
            key, owner = f"federates.{name}.owner", spec.owner
            if (problem := name_problem("site name", owner)) is not None:
                self.add(key, problem)
            elif owner == COORDINATOR_SITE:
                self.add(key, f"site name {short_repr(owner)} is reserved for the site that creates and records the run "
                              "(it may create and administer the federation); name the owner otherwise")
            elif first.setdefault(owner.lower(), owner) != owner:
                self.add(key, f"site {short_repr(owner)} differs from site {short_repr(first[owner.lower()])} only in case; site names "
                              "name files (certificates, logs), which some file systems do not tell apart")

    # -- interfaces
    def load_interfaces(self) -> None:
        """Each federate's interface. A site (a host, the coordinator) reads only its own federates' models:
        another site's federate is declared by the scenario (declare_remote), never imported nor loaded,
        even when its files are here. Without `run_code`, a python federate is declared likewise, and no
        FMU binary is loaded: nothing of a model's code runs."""
        scenario = self.scenario
        for name, spec in scenario.federates.items():
            if not _IDENTIFIER.match(name):
                self.add(f"federates.{name}", f"federate name {short_repr(name)} is not {_IDENTIFIER_RULE}")
            if self.site is not None and spec.owner != self.site:
                self.declare_remote(name)
                continue
            if spec.kind == "python" and not self.run_code:
                self.declare_unexecuted(name)
                continue
            if spec.kind in ("fmu", "replay") and not self.model_file_found(name, spec):
                continue
            try:
                if spec.kind == "fmu":
                    interface = fmu_interface(scenario.fmu_path(name))
                    check_fmu_binary(scenario.fmu_path(name), interface, load=self.run_code)
                elif spec.kind == "replay":
                    interface = replay_interface(scenario.replay_path(name))
                else:
                    interface = python_interface(str(spec.python), scenario.search_paths())
            except InterfaceError as exc:
                self.add(f"federates.{name}.{spec.kind}", str(exc))
                continue
            if spec.kind == "fmu" and not self.run_code:
                self.unchecked.append(Problem(f"federates.{name}.fmu", "its binary for this platform was not loaded "
                                                                      "(--no-exec): whether it loads is not checked"))
            scenario.interfaces[name] = interface

    def model_file_found(self, name: str, spec: FederateSpec) -> bool:
        """Whether the FMU or replay CSV exists, after saying where it was looked for if not."""
        scenario = self.scenario
        path = scenario.fmu_path(name) if spec.kind == "fmu" else scenario.replay_path(name)
        what, written = ("FMU" if spec.kind == "fmu" else "replay CSV"), spec.source
        try:
            if path.exists():
                return True
        except OSError as exc:  # e.g. a name too long for the file system
            self.add(f"federates.{name}.{spec.kind}", f"{what} {short_repr(written)} cannot be looked up: "
                                                      f"{exc.strerror or exc}")
            return False
        shown = clip(str(path), 300)
        if Path(written).is_absolute():
            where = f"{shown} does not exist"
        else:
            where = (f"resolved against the scenario's folder {scenario.folder()} it is {shown}, "
                     "which does not exist")
            beside_cwd = Path.cwd() / written
            if beside_cwd.resolve() != path and _is_file(beside_cwd):
                where += (f"; there is one at {beside_cwd.resolve()}, relative to the working directory, but model "
                          "paths are relative to the scenario file")
        self.add(f"federates.{name}.{spec.kind}", f"{what} {short_repr(written)} not found: {where}")
        return False

    def declared_inputs(self, name: str) -> list[str]:
        """The federate's inputs the scenario feeds, by connection or interaction."""
        scenario = self.scenario
        inputs = [c.dst_variable for c in scenario.connections if c.dst_federate == name]
        return inputs + [t.split(".", 1)[1] for i in scenario.interactions.values() for t in i.to
                         if t.split(".", 1)[0] == name]

    def declare_remote(self, name: str) -> None:
        """Another site's federate: its interface as the scenario declares it; its owner's host checks it
        against the model. With one owner and no expose list, only the model tells what it shares (every
        output): its FMU's modelDescription or its replay CSV is read for that when here (data, not code)."""
        scenario, spec = self.scenario, self.scenario.federates[name]
        outputs = scenario.declared_outputs(name)
        if outputs is None:
            outputs = self.outputs_in_model_data(name, spec)
        if outputs is None:
            why = ("importing its module would run its owner's code" if spec.kind == "python"
                   else "its model is not here")
            self.add(f"federates.{name}.expose",
                     f"required to run site {short_repr(self.site)} without the model of {short_repr(name)} (owner "
                     f"{short_repr(spec.owner)}): with one owner and no expose list it shares every output, which "
                     f"only its model tells, and {why}")
            return
        scenario.interfaces[name] = declared_interface(outputs, self.declared_inputs(name))

    def outputs_in_model_data(self, name: str, spec: FederateSpec) -> list[str] | None:
        """Every output that can travel, read from another site's FMU modelDescription or replay CSV when it is
        on this machine; None when it is not (or unreadable: its owner's host reports that)."""
        scenario = self.scenario
        try:
            if spec.kind == "fmu" and _is_file(scenario.fmu_path(name)):
                interface = fmu_interface(scenario.fmu_path(name))
            elif spec.kind == "replay" and _is_file(scenario.replay_path(name)):
                interface = replay_interface(scenario.replay_path(name))
            else:
                return None
        except InterfaceError:
            return None
        return [var for var in interface.outputs() if _travels(interface.variables[var])]

    def declare_unexecuted(self, name: str) -> None:
        """A python federate under --no-exec: its interface is known only by importing it, which runs its code;
        it is taken as the scenario names it, and reported as not checked."""
        scenario = self.scenario
        outputs = scenario.declared_outputs(name)
        if outputs is None:
            outputs = scenario._mentioned_outputs(name)
        scenario.interfaces[name] = declared_interface(outputs, self.declared_inputs(name))
        self.unchecked.append(Problem(f"federates.{name}.python", "not imported (--no-exec): its module, inputs, "
                                                                 "outputs and parameters are not checked"))

    def variable(self, key: str, federate: str, variable: str, causality: str | None = None) -> VariableInfo | None:
        """The variable, or None after recording a problem (unknown federate/variable; silent if unreadable).

        An unknown name gets the closest names of the federate's variables (of `causality` first) as hints.
        """
        if not self.known_federate(key, federate):
            return None
        interface = self.scenario.interfaces.get(federate)
        if interface is None:
            return None  # its interface could not be read: already reported
        info = interface.variables.get(variable)
        if info is None:
            hint = _did_you_mean(variable, [n for n, v in interface.variables.items() if v.causality == causality])
            self.add(key, f"federate {short_repr(federate)} has no variable {short_repr(variable)}"
                          f"{hint or _did_you_mean(variable, interface.variables)}")
        return info

    def exchangeable(self, key: str, federate: str, info: VariableInfo) -> bool:
        """Whether the variable's values can travel through the RTI, after recording a problem if not."""
        if _travels(info):
            return True
        what = "an array (it has a Dimension)" if info.array else f"a {info.type} variable"
        self.add(key, f"{federate}.{info.name} is {what}; only scalar "
                      f"{', '.join(_EXCHANGED_TYPES)} values can be exposed, connected or recorded")
        return False

    def exposed_output(self, key: str, federate: str, variable: str) -> VariableInfo | None:
        """An output other federates may see, or None after recording why not."""
        info = self.variable(key, federate, variable, "output")
        if info is None:
            return None
        if info.causality != "output":
            self.add(key, f"{federate}.{variable} is not an output (causality {short_repr(info.causality)})")
            return None
        if not self.exchangeable(key, federate, info):
            return None
        if variable not in self.scenario.exposed(federate):
            self.add(key, f"{federate}.{variable} is not exposed (not in federates.{federate}.expose)")
            return None
        return info

    def driven_input(self, key: str, federate: str, variable: str) -> VariableInfo | None:
        """An input not yet driven by another connection/interaction, or None after recording why not."""
        info = self.variable(key, federate, variable, "input")
        if info is None:
            return None
        if info.causality != "input":
            self.add(key, f"{federate}.{variable} is not an input (causality {short_repr(info.causality)})")
            return None
        if not self.exchangeable(key, federate, info):
            return None
        first = self.drivers.setdefault((federate, variable), key)
        if first != key:
            self.add(key, f"input {federate}.{variable} is already fed by {first}")
        return info

    # -- federates
    def settable(self, key: str, name: str, interface: FederateInterface, parameter: str) -> VariableInfo | None:
        """A parameter (or input) of the federate, or None after recording why it cannot be set."""
        info = interface.variables.get(parameter)
        if info is None or info.causality not in _SETTABLE_CAUSALITIES:
            what = "no such variable" if info is None else f"causality {short_repr(info.causality)}"
            hint = _did_you_mean(parameter, [n for n, v in interface.variables.items()
                                             if v.causality in _SETTABLE_CAUSALITIES])
            self.add(key, f"{short_repr(parameter)} is not a parameter of federate {short_repr(name)} ({what}){hint}")
            return None
        if info.array:
            self.add(key, f"{name}.{parameter} is an array (it has a Dimension); only scalar parameters can be set")
            return None
        return info

    def check_federate(self, name: str) -> None:
        spec = self.scenario.federates[name]
        interface = self.scenario.interfaces.get(name)
        if interface is None or interface.kind == REMOTE:
            return  # a remote federate's owner checks its own declarations
        for index, variable in enumerate(spec.expose or []):
            info = self.variable(f"federates.{name}.expose[{index}]", name, variable, "output")
            if info is not None and info.causality != "output":
                self.add(f"federates.{name}.expose[{index}]",
                         f"{name}.{variable} is not an output (causality {short_repr(info.causality)}); "
                         "only outputs can be exposed")
            elif info is not None:
                self.exchangeable(f"federates.{name}.expose[{index}]", name, info)
        for index, parameter in enumerate(spec.tunable or []):
            self.settable(f"federates.{name}.tunable[{index}]", name, interface, parameter)
        for parameter, value in spec.parameters.items():
            key = f"federates.{name}.parameters.{parameter}"
            info = self.settable(key, name, interface, parameter)
            if info is None:
                continue
            if spec.kind == "fmu" and not _value_matches(info.type, value):
                hint = "; quote it to make it text" if info.type == "String" else ""
                self.add(key, f"value {short_repr(value)} does not match the {info.type} type of {name}.{parameter}{hint}")
            elif spec.kind == "fmu" and (bad := _out_of_range(info, value)):
                self.add(key, f"value {short_repr(value)} is outside {bad} of {name}.{parameter}")
        if spec.kind == "python":
            self.check_constructor(name, spec)

    def check_tunable(self, name: str) -> None:
        """The owner's rule, checked here as its host will check it: only `tunable` parameters may be set."""
        spec = self.scenario.federates[name]
        for parameter in untunable(spec):
            self.add(f"federates.{name}.parameters.{parameter}",
                     f"{short_repr(parameter)} is not in federates.{name}.tunable ({', '.join(spec.tunable or []) or 'empty'}): "
                     f"site {short_repr(spec.owner)} does not let the federation set it, and its host would refuse to run")

    def check_constructor(self, name: str, spec: FederateSpec) -> None:
        """The class accepts the parameters as keywords, as the run will construct it: cls(**parameters)."""
        cls = load_python_class(str(spec.python), self.scenario.search_paths())  # already imported: cached
        try:
            signature = inspect.signature(cls)
        except (TypeError, ValueError):
            return  # no signature to check against without constructing it
        try:
            signature.bind(**spec.parameters)
        except TypeError as exc:
            given = ", ".join(spec.parameters) or "none"
            self.add(f"federates.{name}.parameters",
                     f"{spec.python} cannot be constructed with the parameters given ({given}): {exc}")

    # -- connections
    def check_connection(self, key: str, connection: Connection) -> None:
        if connection.src_federate == connection.dst_federate:
            # The RTI reflects an update to the other federates only, as HLA does.
            self.add(key, f"{short_repr(str(connection))} connects federate "
                          f"{short_repr(connection.src_federate)} to itself; a model's own feedback belongs inside it")
        src = self.exposed_output(key, connection.src_federate, connection.src_variable)
        dst = self.driven_input(key, connection.dst_federate, connection.dst_variable)
        if src is None or dst is None:
            return
        interfaces = self.scenario.interfaces
        if REMOTE in (interfaces[connection.src_federate].kind, interfaces[connection.dst_federate].kind):
            return  # types and units of another site's model are checked on its own host
        if (mismatch := _type_mismatch(connection, src, dst)) is not None:
            self.add(key, mismatch)
        if not units_compatible(src.unit, interfaces[connection.src_federate].unit_definitions,
                                dst.unit, interfaces[connection.dst_federate].unit_definitions):
            self.add(key, f"unit mismatch: {connection.src} is in [{src.unit}], {connection.dst} is in [{dst.unit}]")

    # -- interactions
    def check_interaction(self, name: str, interaction: InteractionSpec) -> None:
        base = f"interactions.{name}"
        if not _IDENTIFIER.match(name):
            self.add(base, f"interaction name {short_repr(name)} is not {_IDENTIFIER_RULE}")
        if not interaction.parameters:
            self.add(f"{base}.parameters", "an interaction needs at least one parameter")
        for index, publisher in enumerate(interaction.publishers):
            if (self.known_federate(f"{base}.publishers[{index}]", publisher, "publisher federate")
                    and self.scenario.federates[publisher].kind != "python"):
                self.add(f"{base}.publishers[{index}]", f"{short_repr(publisher)} is a {self.scenario.federates[publisher].kind} "
                                                        "federate; only python federates send interactions")
        for target, parameter in interaction.to.items():
            key = f"{base}.to.{target}"
            try:
                federate, variable = parse_reference(target)
            except ValueError as exc:
                self.add(key, str(exc))
                continue
            self.driven_input(key, federate, variable)
            if parameter not in interaction.parameters:
                self.add(key, f"{short_repr(parameter)} is not a parameter of interaction {short_repr(name)} "
                              f"(declared: {', '.join(interaction.parameters) or 'none'})")

    # -- output
    def check_output(self) -> None:
        seen: dict[str, int] = {}
        for index, reference in enumerate(self.scenario.output.variables or []):
            key = f"output.variables[{index}]"
            try:
                federate, variable = parse_reference(reference)
            except ValueError as exc:
                self.add(key, str(exc))
                continue
            if reference in seen:
                self.add(key, f"{reference} is already recorded by output.variables[{seen[reference]}]")
            seen.setdefault(reference, index)
            self.exposed_output(key, federate, variable)


# ------------------------------------------------------------------------------------------------------------ loading

def _with_overrides(problems: list[Problem], overrides: Mapping[str, object]) -> list[Problem]:
    """Say which problems an override (`--stop`, `--set`) may have caused: the file alone is not to blame."""
    def key_of(name: str) -> str:
        head, _, rest = name.partition(".")
        return name if head == "time" else f"federates.{head}.parameters.{rest}"

    given = {key_of(name): f"{name}={short_repr(value)}" for name, value in overrides.items()}
    time_given = [text for key, text in given.items() if key.startswith("time.")]
    noted = []
    for problem in problems:
        related = time_given if problem.key.startswith("time.") else [given[problem.key]] if problem.key in given else []
        note = f" (with the override {', '.join(related)})" if related else ""
        noted.append(Problem(problem.key, problem.message + note))
    return noted


def load_scenario(
    path: Path | str, overrides: Mapping[str, object] | None = None, site: str | None = None,
    run_code: bool = True,
) -> Scenario:
    """Read, validate and resolve a scenario file; raise ScenarioError listing every problem found.

    Without `site`, every federate is checked against its model: python modules are imported and
    FMU binaries loaded (in a child process), which runs their code. With `site` (an owner's host,
    or the coordinator), only that site's federates are: another site's are taken as the scenario
    declares them, and nothing of theirs is imported or loaded, even when their files are here.
    With `run_code=False` (`validate --no-exec`) no python module is imported and no binary loaded;
    `Scenario.unchecked` then says what was not checked.
    """
    path = Path(path).resolve()
    raw, data = _read_yaml(path, keys=tuple(Scenario.model_fields))
    problems = _apply_overrides(data, overrides or {})
    unparsed: _Unparsed | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        # Cross-check what did parse too: a user fixing one problem should not only then meet the next.
        problems += _pydantic_problems(exc)
        scenario, unparsed = _parsed_parts(data)
    scenario._path = path
    scenario._sha256 = hashlib.sha256(raw).hexdigest()
    scenario._overrides = dict(overrides or {})
    checker = _Checker(scenario, site, unparsed, run_code)
    problems += checker.run()
    if problems:
        raise ScenarioError(path, _with_overrides(problems, overrides or {}))
    scenario._unchecked = checker.unchecked
    log.info("loaded scenario %s (%s, %d federates)", path, scenario.federation, len(scenario.federates))
    return scenario
