"""Import a Python model's class from the scenario's folders and read its interface without running it."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from federation.clip import short_repr
from federation.kinds.interface import FederateInterface, InterfaceError, VariableInfo

log = logging.getLogger(__name__)


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

