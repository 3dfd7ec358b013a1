"""The registry of federate kinds (fmu, python, replay...): what the federation asks of a model, whatever it is.

A kind is one module that exposes a `Kind`; the package's entry points (group `federation.kinds`)
name them, so the federation finds every kind without importing any adapter, and a kind added by
another package is found the same way. `register` adds one in-process (tests, notebooks).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from federation.ambassador import Federate
from federation.clip import short_repr
from federation.coupling import Clock, Wiring
from federation.errors import CarriesFields, ConfigurationError, ModelError
from federation.kinds.interface import FederateInterface, InterfaceError

log = logging.getLogger(__name__)

__all__ = ["ENTRY_POINTS", "Kind", "KindNotLoaded", "Model", "StaleModules", "UnknownKind", "file_sha256", "kind", "kinds",
           "read_interface", "register"]

ENTRY_POINTS = "federation.kinds"
ParameterValue = float | int | bool | str | list[Any]  # a list (nested per dimension) for an FMI 3 array


@dataclass(frozen=True)
class Model:
    """One federate's model as its scenario resolves it: the file (fmu, replay) or the code (python) it names."""

    federate: str
    site: str
    kind: str
    source: str  # as written in the scenario
    path: Path | None  # a file kind's model file, absolute
    search_paths: tuple[Path, ...]  # where a code kind's modules are imported from
    parameters: Mapping[str, ParameterValue]
    options: Mapping[str, ParameterValue] = field(default_factory=dict)  # its kind's own keys (an FMU's solver...)


@runtime_checkable
class Kind(Protocol):
    """What the federation asks of a kind of model. Each call reads or runs only the owner's own model."""

    name: str  # the scenario key that selects it (`fmu: grid.fmu`)
    label: str  # how messages call its models ("FMU", "replay CSV", "Python model")
    reads_file: bool  # the scenario names a file (relative to the scenario) rather than code
    runs_code: bool  # reading its interface runs the owner's code (not under `validate --no-exec`)
    sends_interactions: bool  # its federates may publish interactions (python models do)

    def interface(self, model: Model) -> FederateInterface:
        """The model's variables, read without running it (InterfaceError when it cannot be read)."""
        ...

    def probe(self, model: Model, interface: FederateInterface, load: bool) -> str | None:
        """Check what the run will load beyond the interface (an FMU's binary); with `load`, load it.
        Returns a note on what was left unchecked, or None. Raises InterfaceError."""
        ...

    def parameter_problems(self, model: Model, interface: FederateInterface) -> list[tuple[str, str]]:
        """(key below the federate's, message) for parameter values the model would refuse."""
        ...

    def sources(self, model: Model) -> dict[Path, str]:
        """Every file the model's result depends on, with its SHA-256 (a sweep reuses a run only when they match)."""
        ...

    def federate(self, model: Model, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> Federate:
        """The federate that runs the model."""
        ...


class UnknownKind(CarriesFields, ConfigurationError, LookupError):
    """No kind of that name is registered."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"no federate kind {short_repr(name)} is registered (known: {', '.join(known) or 'none'}; "
                         f"kinds are found through the {ENTRY_POINTS!r} entry points: is the package installed?)")
        self.name, self.known = name, list(known)


class KindNotLoaded(CarriesFields, ConfigurationError):
    """An installed package names a federate kind (entry point) that cannot be loaded."""

    def __init__(self, name: str, value: str, why: str) -> None:
        super().__init__(f"federate kind {short_repr(name)} ({ENTRY_POINTS} entry point {short_repr(value)}) "
                         f"cannot be loaded: {why}")
        self.name, self.value = name, value


class StaleModules(CarriesFields, ModelError):
    """A model's code changed on disk after this process imported it: it would run its old code."""

    def __init__(self, changed: list[str], loaded: list[str]) -> None:
        self.changed = changed  # the modules whose file changed
        self.loaded = loaded  # every module of the model's: all must be imported again
        super().__init__(f"changed since they were imported: {', '.join(changed)}")


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (remembered per path, modification time and size: a sweep's or a suite's
    runs digest the same models again and again)."""
    stat = Path(path).stat()
    return _file_sha256(Path(path).resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1024)
def _file_sha256(path: Path, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


_REGISTERED: dict[str, Kind] = {}
_LOADED = False


def register(new: Kind) -> None:
    """Add a kind in this process (one of the same name is replaced)."""
    _REGISTERED[new.name] = new


def kinds() -> Mapping[str, Kind]:
    """Every registered kind by name: the entry points' (loaded once), then those registered in-process."""
    global _LOADED
    if not _LOADED:
        found = {}
        for entry in importlib.metadata.entry_points(group=ENTRY_POINTS):
            try:
                loaded = entry.load()
            except Exception as exc:  # another package's module: whatever it raises, name the kind it was to be
                raise KindNotLoaded(entry.name, entry.value, f"{type(exc).__name__}: {exc}") from exc
            if not isinstance(loaded, Kind):
                raise KindNotLoaded(entry.name, entry.value, "it is not a Kind (federation.kinds.Kind)")
            found[entry.name] = loaded
        _REGISTERED.update({name: k for name, k in found.items() if name not in _REGISTERED})
        _LOADED = True
        log.debug("federate kinds: %s", ", ".join(sorted(_REGISTERED)))
    return dict(_REGISTERED)


def read_interface(path: Path, kind_name: str = "fmu") -> FederateInterface:
    """The interface of a model file outside any scenario (`federation inspect`)."""
    resolved = Path(path).resolve()
    model = Model(federate=resolved.stem, site="", kind=kind_name, source=str(path), path=resolved,
                  search_paths=(), parameters={})
    return kind(kind_name).interface(model)


def kind(name: str) -> Kind:
    """The kind of that name (UnknownKind if none)."""
    found = kinds()
    if name not in found:
        raise UnknownKind(name, sorted(found))
    return found[name]
