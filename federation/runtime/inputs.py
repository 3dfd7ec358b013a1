"""What determines a run's result, as digests: a sweep reuses an earlier run only when all of them match.

A run's result follows from the scenario file, the files of the models its federates use, its
parameters and overrides, and the versions of this tool and of fmpy. The model files are:
- an FMU: its archive;
- a replay federate: its CSV;
- a Python model: the .py files it may take code or constants from: those of its module's top-level
  package (recursively), or, for a module outside any package, those beside it; and so for every
  other module of the user's it refers to, recursively (imported modules, the modules of classes
  and functions taken from them). Installed packages and this tool's own packages (federation,
  adapters) are left out: their versions stand for them. Data files a Python model opens itself
  are not known here.

`input_digests` computes the digests of the shared files once for a sweep; `differences` says, in
words, why an earlier run's record does not match the run to make.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import site
import sys
import sysconfig
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from federation import __version__
from federation.clip import clip, short_repr
from federation.errors import CarriesFields, ModelError

if TYPE_CHECKING:
    from federation.scenario import Scenario

TOOL_PACKAGES = frozenset({"federation", "adapters"})  # the tool's own code: its version stands for it
VERSIONS = ("federation", "fmpy")


def versions() -> dict[str, str]:
    """The versions of the software that computes a run: this tool and fmpy."""
    import fmpy

    return {"federation": __version__, "fmpy": fmpy.__version__}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def input_digests(scenario: Scenario) -> dict[str, Any]:
    """The digests of what every run of the scenario shares: tool versions, scenario file, model files
    ({federate: {file as seen from the scenario's folder: sha256}}). A run adds its parameters."""
    folder = scenario.path.parent
    models: dict[str, dict[str, str]] = {}
    for name in scenario.federates:
        models[name] = {os.path.relpath(path, folder): digest for path, digest in _model_files(scenario, name)}
    return {"versions": versions(), "scenario_sha256": scenario.sha256(), "models": models}


def differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Why an earlier run's record (params.json) is not the run to make, in words; empty when identical.

    Both are records as sweep writes them: scenario path, params, overrides and `inputs` (input_digests)."""
    reasons: list[str] = []
    if not isinstance(before.get("inputs"), Mapping):
        return ["the earlier run recorded no digests of its inputs"]
    old, new = _mapping(before.get("inputs")), now["inputs"]
    old_versions = _mapping(old.get("versions"))
    for name in VERSIONS:
        if old_versions.get(name) != new["versions"][name]:
            what = "tool" if name == "federation" else name
            reasons.append(f"{what} version changed {old_versions.get(name, 'unknown')} -> {new['versions'][name]}")
    if before.get("scenario") != now["scenario"]:
        reasons.append(f"another scenario file (was {short_repr(before.get('scenario'))})")
    elif old.get("scenario_sha256") != new["scenario_sha256"]:
        reasons.append("scenario changed")
    old_models = _mapping(old.get("models"))
    for federate, files in new["models"].items():
        earlier = old_models.get(federate)
        if not isinstance(earlier, Mapping):
            continue  # a federate the earlier scenario did not have: the scenario changed
        changed = sorted(set(files) ^ set(earlier) | {f for f in files if f in earlier and earlier[f] != files[f]})
        if changed:
            reasons.append(f"model {federate} changed ({', '.join(changed)})")
    for key, label in (("params", "parameters"), ("overrides", "overrides")):
        changes = _changed_values(before.get(key), now[key])
        if changes:
            reasons.append(f"{label} changed ({changes})")
    return reasons


def _mapping(value: object) -> Mapping[str, Any]:
    """A mapping read from an earlier run's params.json, or an empty one when it holds something else."""
    return value if isinstance(value, Mapping) else {}


def _changed_values(before: object, now: Mapping[str, Any]) -> str:
    """'key old -> new' for every key whose value differs (as written to JSON), comma separated."""
    old = _mapping(before)
    unset = object()
    items = []
    for key in sorted(set(old) | set(now), key=str):
        a, b = old.get(key, unset), now.get(key, unset)
        if a is unset or b is unset or a != b or type(a) is not type(b):
            items.append(f"{clip(str(key), 200)} {'unset' if a is unset else short_repr(a)} -> "
                         f"{'unset' if b is unset else short_repr(b)}")
    return ", ".join(items)


# ------------------------------------------------------------------------------------------------------- models

def _model_files(scenario: Scenario, federate: str) -> list[tuple[Path, str]]:
    spec = scenario.federates[federate]
    if spec.kind == "fmu":
        path = scenario.fmu_path(federate)
        return [(path, file_sha256(path))]
    if spec.kind == "replay":
        path = scenario.replay_path(federate)
        return [(path, file_sha256(path))]
    return list(python_sources(str(spec.python), scenario.search_paths()).items())


def _installed_folders() -> tuple[Path, ...]:
    folders = {sysconfig.get_path(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders.update(site.getsitepackages())
    folders.add(site.getusersitepackages())
    return tuple(Path(f).resolve() for f in folders if f)


_INSTALLED = _installed_folders()

# Source file -> (the module loaded from it, the file's digest when first seen loaded): a module edited
# after a process imported it runs its old code there until it is imported again.
_SEEN: dict[Path, tuple[ModuleType, str]] = {}


class StaleModules(CarriesFields, ModelError):
    """A Python model's source changed on disk after this process imported it: it would run its old code."""

    def __init__(self, changed: list[str], loaded: list[str]) -> None:
        self.changed = changed  # the modules whose file changed
        self.loaded = loaded  # every module of the model's: all must be imported again
        super().__init__(f"changed since they were imported: {', '.join(changed)}")


def python_sources(spec: str, search_paths: list[Path]) -> dict[Path, str]:
    """The source files of a Python model ('module:Class'; see the module docstring) with their digests.

    Raises StaleModules when a file of a module this process loaded changed since (forget_modules, then
    load the scenario again)."""
    from federation.interfaces import load_python_class

    cls = load_python_class(spec, search_paths)  # imported already when the scenario loaded: cached
    loaded: dict[Path, ModuleType] = {}
    todo = [m for m in (sys.modules.get(spec.partition(":")[0]), sys.modules.get(cls.__module__)) if m is not None]
    while todo:
        module = todo.pop()
        path = _user_file(module)
        if path is not None and path not in loaded:
            loaded[path] = module
            todo += _referenced_modules(module)
    files = set(loaded)
    for path, module in list(loaded.items()):
        files.update(f for f in _source_tree(path, module) if not _installed(f))
    for module in list(sys.modules.values()):  # a module it took only a constant from is loaded too
        if isinstance(getattr(module, "__file__", None), str) and (path := _user_file(module)) in files:
            loaded.setdefault(path, module)
    digests = {path: file_sha256(path) for path in sorted(files)}
    changed = []
    for path, module in loaded.items():
        seen = _SEEN.get(path)
        if seen is not None and seen[0] is module and seen[1] != digests[path]:
            changed.append(module.__name__)
        else:  # first seen, or imported again since: this is the code that runs now
            _SEEN[path] = (module, digests[path])
    if changed:
        raise StaleModules(sorted(changed), sorted(m.__name__ for m in loaded.values()))
    return digests


def forget_modules(names: list[str]) -> None:
    """Drop modules from sys.modules, so that the next import reads their files again."""
    for name in names:
        module = sys.modules.pop(name, None)
        cached = getattr(module, "__cached__", None)
        if isinstance(cached, str):  # its timestamp has a resolution of 1 s: an edit within it would not show
            Path(cached).unlink(missing_ok=True)
    importlib.invalidate_caches()


def _user_file(module: ModuleType) -> Path | None:
    """The file of a module of the user's: not this tool's, not installed, not built in."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str) or str(getattr(module, "__name__", "")).partition(".")[0] in TOOL_PACKAGES:
        return None
    path = Path(file).resolve()
    return None if _installed(path) or not path.is_file() else path


def _installed(path: Path) -> bool:
    return any(path.is_relative_to(folder) for folder in _INSTALLED)


def _referenced_modules(module: ModuleType) -> Iterator[ModuleType]:
    """The modules a module refers to: imported ones, the modules of the classes, functions and objects it
    took from others, and the packages above it."""
    name = module.__name__
    while "." in name:
        name = name.rpartition(".")[0]
        if (parent := sys.modules.get(name)) is not None:
            yield parent
    for value in list(vars(module).values()):
        if isinstance(value, ModuleType):
            yield value
            continue
        try:
            owner = getattr(value, "__module__", None)
        except Exception:  # an object whose attribute lookup fails: it points nowhere we can tell
            continue
        if isinstance(owner, str) and (found := sys.modules.get(owner)) is not None:
            yield found


def _source_tree(path: Path, module: ModuleType) -> Iterator[Path]:
    """The .py files a module may take code or constants from unseen: every one of its top-level package
    (recursively), or, for a top-level module, those beside it."""
    top = sys.modules.get(module.__name__.partition(".")[0])
    paths = list(getattr(top, "__path__", None) or [])
    if top is module and not paths:  # a top-level module
        yield from (p.resolve() for p in path.parent.glob("*.py"))
    for folder in paths:
        yield from (p.resolve() for p in Path(folder).rglob("*.py"))
