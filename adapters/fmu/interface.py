"""An FMU's interface, read from its modelDescription.xml (cached per file), with the FMI type tables."""

from __future__ import annotations

import functools
import io
import logging
import zipfile
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from adapters.fmu import archive as fmu_archive
from adapters.fmu.units import relative_quantities, unit_definitions
from federation.clip import short_repr
from federation.kinds.interface import FederateInterface, InterfaceError, StartValue, VariableInfo

log = logging.getLogger(__name__)

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


def _dimensions(variable: Any) -> tuple[int | str, ...]:
    """An FMI 3 array's dimensions: each a fixed size, or the name of the structural parameter that sets it."""
    return tuple(int(d.start) if d.start is not None else str(getattr(getattr(d, "variable", None), "name", ""))
                 for d in getattr(variable, "dimensions", None) or ())


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
    offered = {key: interface for key, interface in (("co_simulation", md.coSimulation),
                                                     ("model_exchange", md.modelExchange)) if interface is not None}
    if not offered:
        raise InterfaceError(f"{path}: FMU supports neither co-simulation nor model exchange "
                             f"({_declared_instead(md)})")
    try:  # each names the binary to load: it must not name a file elsewhere
        identifiers = {key: fmu_archive.plain_file_name(path, "modelIdentifier", interface.modelIdentifier)
                       for key, interface in offered.items()}
    except fmu_archive.ArchiveError as exc:
        raise InterfaceError(str(exc)) from None
    model_identifier = next(iter(identifiers.values()))  # co-simulation's when offered
    variables: dict[str, VariableInfo] = {}
    string_starts = _string_array_starts(xml) if str(md.fmiVersion).startswith("3") else {}
    relative = relative_quantities(xml)
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
            dimensions=_dimensions(v),
            relative_quantity=str(v.name) in relative,
        )
    log.debug("read %d variables from %s (FMI %s)", len(variables), path, md.fmiVersion)
    return FederateInterface(kind="fmu", variables=variables, fmi_version=str(md.fmiVersion),
                             model_name=str(md.modelName) if md.modelName else None,
                             model_identifier=model_identifier, model_identifiers=identifiers,
                             unit_definitions=unit_definitions(xml),
                             default_experiment=_default_experiment(md, path))


def _declared_instead(model_description: Any) -> str:
    """What an FMU without co-simulation or model exchange declares instead, in words ("scheduled execution only")."""
    return "scheduled execution only" if model_description.scheduledExecution is not None else "it declares no interface"


def _declared_fmi_version(xml: bytes) -> str:
    """The root's fmiVersion attribute ("" if it has none) of a well-formed document."""
    for _, element in ElementTree.iterparse(io.BytesIO(xml), events=("start",)):
        return str(element.get("fmiVersion") or "")
    return ""


def fmu_interface(path: Path) -> FederateInterface:
    """Interface of a co-simulation or Model Exchange FMU, read from its modelDescription.xml (cached per path, mtime, size)."""
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise InterfaceError(f"{path}: FMU not found") from exc
    if not resolved.is_file():
        raise InterfaceError(f"{path}: not a file")
    return _fmu_interface_cached(resolved, stat.st_mtime_ns, stat.st_size)

