"""The source files a Python model's result depends on: its module's package, and every module of the user's it uses.

The .py files it may take code or constants from: those of its module's top-level package
(recursively), or, for a module outside any package, those beside it; and so for every other module
of the user's it refers to, recursively (imported modules, the modules of classes and functions
taken from them). Installed packages and this tool's own packages (federation, adapters) are left
out: their versions stand for them. Data files a model opens itself are not known here.
"""

from __future__ import annotations

import site
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from federation.kinds import StaleModules, file_sha256

from adapters.python.loader import load_python_class

TOOL_PACKAGES = frozenset({"federation", "adapters"})  # the tool's own code: its version stands for it


def _installed_folders() -> tuple[Path, ...]:
    folders = {sysconfig.get_path(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders.update(site.getsitepackages())
    folders.add(site.getusersitepackages())
    return tuple(Path(f).resolve() for f in folders if f)


_INSTALLED = _installed_folders()

# Source file -> (the module loaded from it, the file's digest when first seen loaded): a module edited
# after a process imported it runs its old code there until it is imported again.
_SEEN: dict[Path, tuple[ModuleType, str]] = {}



def python_sources(spec: str, search_paths: list[Path]) -> dict[Path, str]:
    """The source files of a Python model ('module:Class'; see the module docstring) with their digests.

    Raises StaleModules when a file of a module this process loaded changed since (forget_modules, then
    load the scenario again)."""
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
