"""Every piece of I/O a scenario needs: each federate's model found, its interface read through its kind,
its binary probed. Which sites' models are read, and whether any model code runs, are explicit arguments."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from federation.clip import clip, short_repr
from federation.kinds import Model, kind, kinds
from federation.kinds.arrays import with_elements
from federation.kinds.interface import FederateInterface, InterfaceError, declared_interface

from .exposure import travels
from .problems import Problem
from .rules import settable_problem
from .schema import FederateSpec, ScenarioSpec, too_long
from .values import did_you_mean

__all__ = ["Resolved", "model_of", "resolve", "search_paths"]


@dataclass(frozen=True)
class Resolved:
    """What resolving found: each federate's interface, the problems met, and what was left unchecked and why."""

    interfaces: Mapping[str, FederateInterface]
    problems: tuple[Problem, ...]
    unchecked: tuple[Problem, ...]


def models_folder(spec: ScenarioSpec, scenario_path: Path) -> Path:
    """The folder relative model paths and python modules resolve against: `base` (relative to the scenario
    file's folder) when given, else the scenario file's folder."""
    folder = scenario_path.parent
    return folder if spec.base is None else (folder / spec.base).resolve()


def search_paths(folder: Path) -> list[Path]:
    """Where Python federates' modules are imported from: the models' folder, then, when that folder is
    inside a package (it holds an __init__.py), the folder above the package's top, so that a dotted
    name (`examples.grid_furnace_vehicle.ems`) resolves too. Never the working directory: a scenario
    means the same from any folder."""
    top = folder
    while (top / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    return [folder] if top == folder else [folder, top]


def model_path(folder: Path, federate: str, value: Path | None, kind_name: str) -> Path:
    """A model file named by the scenario, absolute (relative paths are relative to the models' folder)."""
    if value is None:
        raise ValueError(f"federate {short_repr(federate)} is not a {kind_name} federate")
    if too_long(str(value)):  # it names no file; resolving it would walk every part (read_local says so)
        return folder / value
    return (folder / value).resolve()


def model_of(spec: ScenarioSpec, scenario_path: Path, federate: str) -> Model:
    """The federate's model as its kind reads it: the file or the code the scenario names, and its parameters."""
    federate_spec = spec.federates[federate]
    folder = models_folder(spec, scenario_path)
    path = (model_path(folder, federate, Path(federate_spec.source), federate_spec.kind)
            if kind(federate_spec.kind).reads_file else None)
    return Model(federate=federate, site=federate_spec.site, kind=federate_spec.kind, source=federate_spec.source,
                 path=path, search_paths=tuple(search_paths(folder)), parameters=dict(federate_spec.parameters),
                 options=federate_spec.fmu_options())


def resolve(spec: ScenarioSpec, scenario_path: Path, *, local_sites: Collection[str] | None,
            run_code: bool) -> Resolved:
    """Each federate's interface.

    Only the models of `local_sites` (None: every site) are read: another site's federate is taken
    as the scenario declares it, and nothing of it is imported or loaded, even when its files are here.
    With `run_code`, python modules are imported and FMU binaries loaded (in a child process), which
    runs their code; without it, a python federate is declared likewise and binaries are only looked
    at: nothing of a model's code runs (`unchecked` then says what was not checked).
    """
    return _Resolver(spec, scenario_path, local_sites, run_code).run()


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


class _Resolver:
    def __init__(self, spec: ScenarioSpec, scenario_path: Path, local_sites: Collection[str] | None,
                 run_code: bool) -> None:
        self.spec, self.path, self.local_sites, self.run_code = spec, scenario_path, local_sites, run_code
        self.interfaces: dict[str, FederateInterface] = {}
        self.problems: list[Problem] = []
        self.unchecked: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message))

    def run(self) -> Resolved:
        folder = models_folder(self.spec, self.path)
        if self.spec.base is not None and not _is_dir(folder):
            self.add("base", f"{clip(str(folder), 300)} is not a folder")
            return Resolved({}, tuple(self.problems), ())  # every model and module would be reported missing for it
        installed = kinds()
        for name, spec in self.spec.federates.items():
            if spec.kind not in installed:
                self.add(f"federates.{name}.{spec.kind}", f"no federate kind {short_repr(spec.kind)} is installed "
                         f"(installed: {', '.join(sorted(installed))}){did_you_mean(spec.kind, installed)}")
            elif self.local_sites is not None and spec.site not in self.local_sites:
                self.declare_remote(name)
            elif kind(spec.kind).runs_code and not self.run_code:
                self.declare_unexecuted(name)
            else:
                self.read_local(name, spec)
        return Resolved(dict(self.interfaces), tuple(self.problems), tuple(self.unchecked))

    def read_local(self, name: str, spec: FederateSpec) -> None:
        """A local model's interface, its binary probed, and the parameter values its kind would refuse."""
        model_kind = kind(spec.kind)
        if model_kind.reads_file and (why := too_long(spec.source)):
            self.add(f"federates.{name}.{spec.kind}", why)
            return
        if model_kind.reads_file and not self.model_file_found(name, spec):
            return
        model = model_of(self.spec, self.path, name)
        try:
            interface = model_kind.interface(model)
            unchecked = model_kind.probe(model, interface, load=self.run_code)
        except InterfaceError as exc:
            self.add(f"federates.{name}.{spec.kind}", str(exc))
            return
        if unchecked:
            self.unchecked.append(Problem(f"federates.{name}.{spec.kind}", unchecked))
        self.interfaces[name] = interface = with_elements(interface, spec.parameters)
        # Values of parameters it cannot set at all are the rules' problem (federation.scenario.rules).
        settable = {p: v for p, v in spec.parameters.items() if settable_problem(name, interface, p) is None}
        for key, message in model_kind.parameter_problems(dataclasses.replace(model, parameters=settable), interface):
            self.add(f"federates.{name}.{key}", message)

    def model_file_found(self, name: str, spec: FederateSpec) -> bool:
        """Whether the FMU or replay CSV exists, after saying where it was looked for if not."""
        path = model_of(self.spec, self.path, name).path
        assert path is not None
        what, written = kind(spec.kind).label, spec.source
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
            where = (f"resolved against the scenario's folder {models_folder(self.spec, self.path)} it is {shown}, "
                     "which does not exist")
            beside_cwd = Path.cwd() / written
            if beside_cwd.resolve() != path and _is_file(beside_cwd):
                where += (f"; there is one at {beside_cwd.resolve()}, relative to the working directory, but model "
                          "paths are relative to the scenario file")
        self.add(f"federates.{name}.{spec.kind}", f"{what} {short_repr(written)} not found: {where}")
        return False

    def declare_remote(self, name: str) -> None:
        """Another site's federate: its interface as the scenario declares it; its site's host checks it
        against the model. With one site and no expose list, only the model tells what it shares (every
        output): its FMU's modelDescription or its replay CSV is read for that when here (data, not code), and
        for its units (so that connections with it are converted as where the model is read)."""
        spec = self.spec.federates[name]
        outputs = self.spec.declared_outputs(name)
        data = self.model_data(name, spec)
        if outputs is None and data is not None:
            outputs = [var for var in data.outputs() if travels(data.variables[var])]
        if outputs is None:
            why = ("importing its module would run its owner's code" if kind(spec.kind).runs_code
                   else "its model is not here")
            sites = " or ".join(short_repr(site) for site in sorted(self.local_sites or ()))
            self.add(f"federates.{name}.expose",
                     f"required to run site {sites} without the model of {short_repr(name)} (site "
                     f"{short_repr(spec.site)}): with one site and no expose list it shares every output, which "
                     f"only its model tells, and {why}")
            return
        declared = declared_interface(outputs, self.spec.declared_inputs(name), data)
        if data is not None:  # its arrays, so that they go as the elements its own host will send
            arrays = {n: info for n, info in data.variables.items()
                      if (info.array and n in declared.variables) or info.element_of in declared.variables}
            declared = dataclasses.replace(declared, variables={**declared.variables, **arrays})
        self.interfaces[name] = declared

    def model_data(self, name: str, spec: FederateSpec) -> FederateInterface | None:
        """Another site's model's interface, read from its FMU modelDescription or replay CSV (data, not code)
        when it is on this machine; None when it is not (or unreadable: its site's host reports that)."""
        model_kind, model = kind(spec.kind), model_of(self.spec, self.path, name)
        if model_kind.runs_code or model.path is None or not _is_file(model.path):
            return None
        try:
            return with_elements(model_kind.interface(model), spec.parameters)
        except InterfaceError:
            return None

    def declare_unexecuted(self, name: str) -> None:
        """A python federate under --no-exec: its interface is known only by importing it, which runs its code;
        it is taken as the scenario names it, and reported as not checked."""
        outputs = self.spec.declared_outputs(name)
        if outputs is None:
            outputs = self.spec.mentioned_outputs(name)
        self.interfaces[name] = declared_interface(outputs, self.spec.declared_inputs(name))
        self.unchecked.append(Problem(f"federates.{name}.{self.spec.federates[name].kind}", "not imported "
                                      "(--no-exec): its module, inputs, outputs and parameters are not checked"))
