"""Reading a scenario (or policy) file: the YAML reader with its limits and unique-key loader, and the
overrides (`--set`, `--stop`) patched into the data it read, before validation."""

from __future__ import annotations

import io
import math
import re
import sys
import zipfile
from collections.abc import Collection, Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from federation.clip import clip, short_repr
from federation.errors import CarriesFields

from .problems import Problem, ScenarioError, pydantic_problems

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_TEXT", "MAX_VALUES", "apply_overrides", "pydantic_problems",
           "read_yaml", "with_overrides"]


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


def read_yaml(path: Path, what: str = "scenario file",
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

# ---------------------------------------------------------------------------------------------------------- overrides

def apply_overrides(data: dict[str, Any], overrides: Mapping[str, object]) -> list[Problem]:
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


def with_overrides(problems: list[Problem], overrides: Mapping[str, object]) -> list[Problem]:
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
