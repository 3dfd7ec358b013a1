"""Read what a federate (FMU, Python model or replay CSV) exposes without running it."""

from __future__ import annotations

import csv
import functools
import importlib
import inspect
import io
import logging
import math
import os
import re
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from federation import fmu_archive
from federation.clip import clip, short_repr
from federation.errors import CarriesFields, ConfigurationError

log = logging.getLogger(__name__)

__all__ = [
    "BASE_UNITS",
    "FederateInterface",
    "InterfaceError",
    "ReplaySeries",
    "UnitDefinition",
    "VariableInfo",
    "fmu_interface",
    "load_python_class",
    "python_interface",
    "read_replay_csv",
    "replay_interface",
    "split_header_cell",
    "units_compatible",
]

StartValue = float | int | bool | str | None
# (base-unit exponents in BASE_UNITS order, factor, offset)
UnitDefinition = tuple[tuple[int, ...], float, float]
BASE_UNITS: tuple[str, ...] = ("kg", "m", "s", "A", "K", "mol", "cd", "rad")

# FMI 2/3 variable type -> federation type family
_TYPE_FAMILY: dict[str, str] = {
    "Real": "Real", "Float32": "Real", "Float64": "Real",
    "Integer": "Integer", "Enumeration": "Integer",
    "Int8": "Integer", "UInt8": "Integer", "Int16": "Integer", "UInt16": "Integer",
    "Int32": "Integer", "UInt32": "Integer", "Int64": "Integer", "UInt64": "Integer",
    "Boolean": "Boolean", "String": "String",
}
_INT_RANGES: dict[str, tuple[int, int]] = {
    **{f"Int{b}": (-2 ** (b - 1), 2 ** (b - 1) - 1) for b in (8, 16, 32, 64)},
    **{f"UInt{b}": (0, 2 ** b - 1) for b in (8, 16, 32, 64)},
}


def _int_range(fmi_type: str, fmi_version: str) -> tuple[int, int] | None:
    """FMI 2's Integer and Enumeration are 32-bit; FMI 3's Enumeration is 64-bit."""
    if fmi_type in ("Integer", "Enumeration"):
        return _INT_RANGES["Int64" if fmi_type == "Enumeration" and fmi_version.startswith("3") else "Int32"]
    return _INT_RANGES.get(fmi_type)


_PARAMETER_CAUSALITIES = frozenset({"parameter", "structuralParameter"})
_HEADER_UNIT = re.compile(r"^\s*(?P<name>[^\[\]]*?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")


class InterfaceError(CarriesFields, ConfigurationError):
    """A federate's interface could not be read (missing file, corrupt FMU, import failure, bad CSV...)."""

    def __init__(self, message: object = "") -> None:
        super().__init__(clip(str(message)))  # it may quote a name or a path from a hostile file


@dataclass(frozen=True)
class VariableInfo:
    """One variable of a federate, as declared (FMI causality vocabulary)."""

    name: str
    causality: str
    type: str
    unit: str | None
    variability: str | None
    start: StartValue
    description: str = ""
    fmi_type: str | None = None  # the declared FMI type (Int32, UInt8, Float64, Enumeration...), FMUs only
    min: int | float | None = None  # declared bounds (FMU variables only)
    max: int | float | None = None
    int_range: tuple[int, int] | None = None  # what an integer variable's FMI type can hold
    array: bool = False  # an FMI 3 variable with <Dimension>s
    array_start: tuple[StartValue, ...] = ()  # an array's start values, every element (row-major), as declared


@dataclass(frozen=True)
class FederateInterface:
    """Everything a federate exposes: its variables (in declaration order) and unit definitions."""

    kind: str
    variables: Mapping[str, VariableInfo]
    fmi_version: str | None = None
    model_name: str | None = None
    model_identifier: str | None = None  # an FMU's co-simulation binary is binaries/<platform>/<this><ext>
    unit_definitions: Mapping[str, UnitDefinition] = field(default_factory=dict)
    default_experiment: Mapping[str, float] = field(default_factory=dict)  # an FMU's, the attributes it gives

    def _names(self, causalities: Iterable[str]) -> list[str]:
        wanted = frozenset(causalities)
        return [name for name, var in self.variables.items() if var.causality in wanted]

    def inputs(self) -> list[str]:
        """Input variable names in declaration order."""
        return self._names(("input",))

    def outputs(self) -> list[str]:
        """Output variable names in declaration order."""
        return self._names(("output",))

    def parameters(self) -> list[str]:
        """Settable parameter names (parameter, structuralParameter) in declaration order."""
        return self._names(_PARAMETER_CAUSALITIES)


def units_compatible(unit_a: str | None, defs_a: Mapping[str, UnitDefinition],
                     unit_b: str | None, defs_b: Mapping[str, UnitDefinition]) -> bool:
    """True unless both units are declared, differ, and the unit definitions do not make them identical.

    Two differently named units are compatible when both are defined with the same base-unit exponents and the
    same (factor, offset), e.g. 'W' and 'VA' (kg.m2.s-3, factor 1, offset 0).
    """
    if unit_a is None or unit_b is None or unit_a == unit_b:
        return True
    def_a, def_b = defs_a.get(unit_a), defs_b.get(unit_b)
    return def_a is not None and def_b is not None and def_a == def_b


# ---------------------------------------------------------------------------------------------------------------- FMU

def _convert_start(raw: str | None, type_family: str) -> StartValue:
    """Turn an FMI start attribute (a string, possibly space-separated for arrays) into a Python scalar."""
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        if type_family == "Real":
            return float(text.split()[0]) if text else None
        if type_family == "Integer":
            return int(text.split()[0]) if text else None
        if type_family == "Boolean":
            return text.split()[0].lower() in {"true", "1"} if text else None
    except ValueError:
        log.debug("unparsable start value %r for %s variable", raw, type_family)
        return None
    return str(raw)


def _convert_array_start(raw: str | None, type_family: str) -> tuple[StartValue, ...]:
    """Every element of an FMI 3 array's start attribute (space-separated)."""
    return tuple(_convert_start(item, type_family) for item in str(raw or "").split())


def _string_array_starts(xml: bytes) -> dict[str, tuple[str, ...]]:
    """FMI 3 String and Binary arrays list one <Start value=...> per element; fmpy keeps only the first."""
    starts: dict[str, tuple[str, ...]] = {}
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:  # fmpy read it: at worst these arrays show their first start value only
        return starts
    for variable in root.iterfind("ModelVariables/*"):
        if variable.tag in ("String", "Binary") and variable.find("Dimension") is not None:
            starts[str(variable.get("name"))] = tuple(str(s.get("value", "")) for s in variable.iterfind("Start"))
    return starts


def _default_experiment(model_description: Any, path: Path) -> dict[str, float]:
    """The attributes of an FMU's <DefaultExperiment> that it gives (and that are numbers)."""
    given: dict[str, float] = {}
    experiment = model_description.defaultExperiment
    for key in ("startTime", "stopTime", "stepSize", "tolerance"):
        raw = getattr(experiment, key, None)
        try:
            if raw is not None:
                given[key] = float(raw)
        except ValueError:
            log.debug("%s: DefaultExperiment %s=%r is not a number", path, key, raw)
    return given


def _bound(variable: Any, which: str) -> int | float | None:
    """A variable's declared min or max (its own, else its declared type's; for an enumeration without
    one, its items'): exact for integers; None if absent or unparsable."""
    declared = getattr(variable, "declaredType", None)
    raw = getattr(variable, which, None)
    if raw is None and declared is not None:
        raw = getattr(declared, which, None)
    items = [int(item.value) for item in getattr(declared, "items", None) or [] if item.value is not None]
    if raw is None and items:
        return min(items) if which == "min" else max(items)
    text = str(raw).split()[0] if raw is not None and str(raw).strip() else None
    try:
        return None if text is None else int(text) if _TYPE_FAMILY.get(str(variable.type)) == "Integer" else float(text)
    except ValueError:
        return None


def _variable_unit(variable: Any) -> str | None:
    unit = getattr(variable, "unit", None)
    if unit is None and getattr(variable, "declaredType", None) is not None:
        unit = getattr(variable.declaredType, "unit", None)
    return str(unit) if unit else None


def _unit_definitions(model_description: Any) -> dict[str, UnitDefinition]:
    units: dict[str, UnitDefinition] = {}
    for unit in getattr(model_description, "unitDefinitions", None) or []:
        base = unit.baseUnit
        if unit.name is None or base is None:
            continue
        exponents = tuple(int(getattr(base, b, 0) or 0) for b in BASE_UNITS)
        factor = float(base.factor) if base.factor is not None else 1.0
        offset = float(base.offset) if base.offset is not None else 0.0
        units[str(unit.name)] = (exponents, factor, offset)
    return units


@functools.lru_cache(maxsize=128)
def _fmu_interface_cached(path: Path, mtime_ns: int, size: int) -> FederateInterface:
    """Parse an FMU's modelDescription.xml; keyed by (path, mtime, size) so a changed file is re-read."""
    from fmpy import read_model_description

    try:
        with fmu_archive.open_fmu(path) as archive:
            xml = fmu_archive.read_model_description(path, archive)
            damaged = archive.testzip()  # CRC of every member: a damaged FMU would only fail when extracted
            if damaged is not None:
                raise InterfaceError(f"{path}: corrupt FMU: bad CRC for {fmu_archive.quoted(damaged)}")
    except fmu_archive.ArchiveError as exc:
        raise InterfaceError(str(exc)) from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise InterfaceError(f"{path}: corrupt FMU: {fmu_archive.clip(str(exc))}") from exc
    version = _declared_fmi_version(xml)
    if version == "":
        raise InterfaceError(f"{path}: modelDescription.xml declares no fmiVersion")
    if not (version == "2.0" or version.startswith("3.")):
        raise InterfaceError(f"{path}: FMI {fmu_archive.clip(version)} is not supported, use FMI 2.0 or 3.0")
    try:
        md = read_model_description(str(path), validate=False)  # the document just checked
    except Exception as exc:  # fmpy raises bare Exceptions / lxml errors for malformed XML
        raise InterfaceError(f"{path}: cannot read modelDescription.xml: {fmu_archive.parse_error(exc)}") from exc
    if md.coSimulation is None:
        raise InterfaceError(f"{path}: FMU does not support co-simulation ({_declared_instead(md)})")
    try:  # it names the binary to load: it must not name a file elsewhere
        model_identifier = fmu_archive.plain_file_name(path, "modelIdentifier", md.coSimulation.modelIdentifier)
    except fmu_archive.ArchiveError as exc:
        raise InterfaceError(str(exc)) from None
    variables: dict[str, VariableInfo] = {}
    string_starts = _string_array_starts(xml) if str(md.fmiVersion).startswith("3") else {}
    for v in md.modelVariables:
        family = _TYPE_FAMILY.get(str(v.type), str(v.type))
        array = bool(getattr(v, "dimensions", None))
        if str(v.name) in variables:
            raise InterfaceError(f"{path}: modelDescription.xml declares the variable {short_repr(str(v.name))} twice")
        variables[str(v.name)] = VariableInfo(
            name=str(v.name),
            causality=str(v.causality or "local"),
            type=family,
            unit=_variable_unit(v),
            variability=str(v.variability) if v.variability else None,
            start=_convert_start(v.start, family),
            description=str(v.description or ""),
            fmi_type=str(v.type),
            min=_bound(v, "min"),
            max=_bound(v, "max"),
            int_range=_int_range(str(v.type), str(md.fmiVersion)),
            array=array,
            array_start=() if not array else string_starts.get(str(v.name)) or _convert_array_start(v.start, family),
        )
    log.debug("read %d variables from %s (FMI %s)", len(variables), path, md.fmiVersion)
    return FederateInterface(kind="fmu", variables=variables, fmi_version=str(md.fmiVersion),
                             model_name=str(md.modelName) if md.modelName else None,
                             model_identifier=model_identifier,
                             unit_definitions=_unit_definitions(md),
                             default_experiment=_default_experiment(md, path))


def _declared_instead(model_description: Any) -> str:
    """What an FMU without co-simulation declares instead, in words ("scheduled execution only")."""
    declared = [label for label, interface in (("model exchange", model_description.modelExchange),
                                               ("scheduled execution", model_description.scheduledExecution))
                if interface is not None]
    return f"{' and '.join(declared)} only" if declared else "it declares no interface"


def _declared_fmi_version(xml: bytes) -> str:
    """The root's fmiVersion attribute ("" if it has none) of a well-formed document."""
    for _, element in ElementTree.iterparse(io.BytesIO(xml), events=("start",)):
        return str(element.get("fmiVersion") or "")
    return ""


def fmu_interface(path: Path) -> FederateInterface:
    """Interface of a co-simulation FMU, read from its modelDescription.xml (cached per path, mtime, size)."""
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise InterfaceError(f"{path}: FMU not found") from exc
    if not resolved.is_file():
        raise InterfaceError(f"{path}: not a file")
    return _fmu_interface_cached(resolved, stat.st_mtime_ns, stat.st_size)


# ------------------------------------------------------------------------------------------------------------- python

@contextmanager
def _prepended_sys_path(search_paths: Sequence[Path]) -> Iterator[None]:
    """search_paths first on sys.path, and the working directory off it ('' or its path, as `python -m` or
    `python -c` put it there): a federate's module must resolve the same from any folder."""
    added = [str(Path(p).resolve()) for p in search_paths]
    saved = list(sys.path)
    cwd = os.getcwd()
    sys.path[:] = added + [p for p in saved if p not in added and os.path.abspath(p or ".") != cwd]
    try:
        yield
    finally:
        sys.path[:] = saved


# Top-level modules imported from a scenario's folder -> that folder: another scenario's module of the same
# name must not be handed out for it (import_module returns whatever sys.modules holds under the name).
_SCENARIO_MODULES: dict[str, Path] = {}


def _forget_another_scenarios_module(top: str, folders: Sequence[Path]) -> None:
    """Drop a module imported earlier from another scenario's folder (in a process that loaded it before: a
    sweep worker, a notebook), so that this scenario's folders are searched afresh. Modules not imported from
    a scenario's folder (the standard library, installed packages) are never dropped."""
    folder = _SCENARIO_MODULES.get(top)
    if folder is None or folder in folders or top not in sys.modules:
        return
    log.debug("importing %s afresh: the module of that name imported before is %s's", top, folder)
    del _SCENARIO_MODULES[top]
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[name]


def _remember_scenario_module(top: str, folders: Sequence[Path]) -> None:
    spec = getattr(sys.modules.get(top), "__spec__", None)
    places = [] if spec is None else [spec.origin] if spec.has_location else list(spec.submodule_search_locations or [])
    for folder in folders:
        if places and all(place and Path(place).resolve().is_relative_to(folder) for place in places):
            _SCENARIO_MODULES[top] = folder
            return


def load_python_class(spec: str, search_paths: Sequence[Path] = ()) -> type:
    """Import 'pkg.module:ClassName' with search_paths temporarily prepended to sys.path."""
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise InterfaceError(f"{short_repr(spec)}: expected 'package.module:ClassName'")
    folders = [Path(p).resolve() for p in search_paths]
    top = module_name.partition(".")[0]
    with _prepended_sys_path(folders):
        _forget_another_scenarios_module(top, folders)
        imported = top in sys.modules
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
                raise InterfaceError(f"{short_repr(spec)}: module {short_repr(module_name)} cannot be imported: {exc}") from exc
            # The module itself, not one it imports: say where it was looked for.
            where = "".join(f"{folder}, " for folder in folders)
            missing = "" if exc.name == module_name else f" (no package {short_repr(exc.name)})"
            raise InterfaceError(f"{short_repr(spec)}: module {short_repr(module_name)} not found{missing} in {where}nor among "
                                 "installed packages") from exc
        except SyntaxError as exc:  # its words and position, never the line itself (str() leaves it out too)
            raise InterfaceError(f"{short_repr(spec)}: cannot import module {short_repr(module_name)}: {exc.msg} "
                                 f"(line {exc.lineno} of {Path(exc.filename or '?').name})") from None
        except Exception as exc:  # any import-time failure of user code
            raise InterfaceError(f"{short_repr(spec)}: cannot import module {short_repr(module_name)}: {exc}") from exc
        if not imported:
            _remember_scenario_module(top, folders)
    obj: object = module
    for part in class_name.split("."):
        if not hasattr(obj, part):
            raise InterfaceError(f"{short_repr(spec)}: module {short_repr(module_name)} has no attribute {short_repr(class_name)}")
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise InterfaceError(f"{short_repr(spec)}: {short_repr(class_name)} is not a class")
    return obj


def _declared_names(spec: str, cls: type, attr: str, required: bool) -> dict[str, str | None]:
    """A class attribute that is a mapping name -> unit or a sequence of names, as {name: unit}."""
    if not hasattr(cls, attr):
        if required:
            raise InterfaceError(f"{short_repr(spec)}: class does not declare {short_repr(attr)}")
        return {}
    value = getattr(cls, attr)
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = [(name, None) for name in value]
    else:
        raise InterfaceError(f"{short_repr(spec)}: {short_repr(attr)} must be a mapping name -> unit or a list of names")
    declared: dict[str, str | None] = {}
    for name, unit in items:
        if not isinstance(name, str) or (unit is not None and not isinstance(unit, str)):
            raise InterfaceError(f"{short_repr(spec)}: {short_repr(attr)} entries must be names (str) with optional str units")
        declared[name] = unit or None
    return declared


def _constructor_parameters(cls: type) -> dict[str, str | None]:
    """Keyword-capable constructor arguments, used as parameters when the class declares no `parameters`."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: None for name, p in signature.parameters.items() if p.kind in kinds}


def _check_step(spec: str, cls: type) -> None:
    """The class has a `step` callable as step(t, dt, inputs), checked from its signature without running it."""
    step = getattr(cls, "step", None)
    if step is None:
        raise InterfaceError(f"{short_repr(spec)}: class has no 'step(t, dt, inputs)' method")
    if not callable(step):
        raise InterfaceError(f"{short_repr(spec)}: 'step' is a {type(step).__name__}, not a method step(t, dt, inputs)")
    try:
        signature = inspect.signature(step)
    except (TypeError, ValueError):
        return  # e.g. a builtin: nothing to check without calling it
    # A plain function read from the class still takes `self`; static and class methods do not.
    takes_self = inspect.isfunction(step) and not isinstance(inspect.getattr_static(cls, "step"), staticmethod)
    args: tuple[object, ...] = (None, 0.0, 0.0, {}) if takes_self else (0.0, 0.0, {})
    try:
        signature.bind(*args)
    except TypeError as exc:
        names = ", ".join(signature.parameters)
        raise InterfaceError(f"{short_repr(spec)}: 'step({names})' cannot be called as step(t, dt, inputs): {exc}") from None


def python_interface(spec: str, search_paths: Sequence[Path]) -> FederateInterface:
    """Interface of a Python-model federate class declaring `inputs`, `outputs`, `step` and optionally `parameters`.

    Without a `parameters` attribute, the constructor's keyword arguments are the parameters.
    """
    cls = load_python_class(spec, search_paths)
    parameters = (_declared_names(spec, cls, "parameters", False) if hasattr(cls, "parameters")
                  else _constructor_parameters(cls))
    declared = (("parameter", parameters), ("input", _declared_names(spec, cls, "inputs", True)),
                ("output", _declared_names(spec, cls, "outputs", True)))
    variables: dict[str, VariableInfo] = {}
    for causality, names in declared:
        for name, unit in names.items():
            if name in variables:
                raise InterfaceError(f"{short_repr(spec)}: variable {short_repr(name)} declared twice")
            variables[name] = VariableInfo(name=name, causality=causality, type="Real", unit=unit,
                                           variability="tunable" if causality == "parameter" else "continuous",
                                           start=None)
    _check_step(spec, cls)
    return FederateInterface(kind="python", variables=variables, model_name=cls.__qualname__)


# ------------------------------------------------------------------------------------------------------------- replay

def split_header_cell(cell: str) -> tuple[str, str | None]:
    """'name [unit]' -> ('name', 'unit'); 'name' -> ('name', None)."""
    match = _HEADER_UNIT.match(cell)
    if match is None:
        return cell.strip(), None
    unit = match.group("unit")
    return match.group("name"), (unit.strip() or None) if unit is not None else None


@dataclass(frozen=True)
class ReplaySeries:
    """A replay CSV as read: output columns (name, unit), sample times in seconds and the outputs' rows."""

    columns: list[tuple[str, str | None]]
    times: list[float]
    rows: list[list[float]]


def _replay_cell(path: Path, line: int, column: str, cell: str) -> float:
    if not cell.strip():
        raise InterfaceError(f"{path}: row {line}, column {short_repr(column)}: empty cell")
    try:
        return float(cell)
    except ValueError:  # the column is named (its header was read as a replay's), the cell is not quoted
        raise InterfaceError(f"{path}: row {line}, column {short_repr(column)}: not a number") from None


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows with their line numbers; InterfaceError unless it is a readable CSV text file."""
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would hide the 'time' header
        with path.open(newline="", encoding="utf-8-sig") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # a device (/dev/zero) or a pipe may never end
                raise InterfaceError(f"{path}: a replay CSV must be a regular file")
            reader = csv.reader(handle)
            try:
                return [(line, row) for line, row in enumerate(reader, start=1)
                        if any(cell.strip() for cell in row)]  # blank lines, and ',,' rows of blank cells
            except csv.Error as exc:  # e.g. a field beyond the csv module's limit: its words, not the field
                raise InterfaceError(f"{path}: row {reader.line_num}: not CSV text ({exc})") from None
    except OSError as exc:
        raise InterfaceError(f"{path}: replay CSV not found or unreadable: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InterfaceError(f"{path}: replay CSV is not UTF-8 text") from exc


def read_replay_csv(path: Path) -> ReplaySeries:
    """Read and check a replay CSV 'time,<col> [unit]...'; both `validate` and the replay federate use it.

    Its problems are told by row and column, never by quoting the file: a path given by mistake (or on
    purpose) may name any file this user can read.
    """
    path = Path(path)
    lines = _csv_rows(path)
    if not lines:
        raise InterfaceError(f"{path}: replay CSV is empty")
    header = [split_header_cell(cell) for cell in lines[0][1]]
    if header[0][0] != "time":
        raise InterfaceError(f"{path}: not a replay CSV: the first column of its first row must be 'time'")
    names = [name for name, _ in header]
    if len(set(names)) != len(names) or not all(names):
        raise InterfaceError(f"{path}: column names must be unique and non-empty")
    if len(lines) == 1:
        raise InterfaceError(f"{path}: replay CSV has a header but no data rows")
    times: list[float] = []
    rows: list[list[float]] = []
    for line, row in lines[1:]:
        if len(row) != len(header):
            raise InterfaceError(f"{path}: row {line} has {len(row)} cells, header has {len(header)}")
        values = [_replay_cell(path, line, name, cell) for name, cell in zip(names, row)]
        if not math.isfinite(values[0]) or (times and values[0] <= times[-1]):
            raise InterfaceError(f"{path}: row {line}: its time must be finite and after the previous row's "
                                 "(times strictly increase)")
        times.append(values[0])
        rows.append(values[1:])
    return ReplaySeries(header[1:], times, rows)


def replay_interface(path: Path) -> FederateInterface:
    """Interface of a replay federate: a CSV 'time,<col>...' whose columns all become Real outputs."""
    series = read_replay_csv(path)
    variables = {name: VariableInfo(name=name, causality="output", type="Real", unit=unit,
                                    variability="continuous", start=None)
                 for name, unit in series.columns}
    return FederateInterface(kind="replay", variables=variables, model_name=Path(path).stem)


REMOTE = "remote"


def declared_interface(outputs: Sequence[str], inputs: Sequence[str]) -> FederateInterface:
    """Another site's federate as the scenario declares it, when its model is not on this machine.

    Its owner validates types, units and parameters on its own host; here only names are known.
    """
    variables = {n: VariableInfo(n, "output", "Real", None, None, None) for n in outputs}
    variables.update({n: VariableInfo(n, "input", "Real", None, None, None) for n in inputs if n not in variables})
    return FederateInterface(kind=REMOTE, variables=variables)
