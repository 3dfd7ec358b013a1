"""Scenarios in Python: load a scenario file, or build one in code that means what the same YAML would."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from ._engine import BUILT_SCENARIO, SITE_KEY, Connection, ScenarioError, Spec, kind_of, load_spec

_HEADER = ("# Built in Python (federation.Scenario). Model paths are absolute; python modules are imported from\n"
           "# `base`, the folder the scenario was built in.\n")


class ScenarioFile(NamedTuple):
    """The scenario file a run reads and the overrides it applies to it."""

    path: Path
    overrides: dict[str, object]


class Scenario:
    """A federation scenario, loaded from a YAML file (`Scenario.load`) or built in code.

    Built in code, it holds what the YAML would, key for key::

        sc = Scenario("plant", stop=3600.0, step=1.0)
        sc.add_fmu("grid", "fmus/dist/fmi3/grid.fmu", site="utility", expose=["f", "v_pcc"])
        sc.add_python("ems", "ems:Dispatcher", site="operator", step=60.0)
        sc.connect("grid.f", "ems.f")

    Relative paths resolve against `base` (default: the working directory when the scenario is made),
    made absolute at once, as a file's resolve against its folder; python modules are imported from
    `base` (and from above its package, when it is inside one), as a file's are from its folder. The
    adding methods return the scenario, so calls chain. The models are read by `validate()` (or a run),
    which reports every problem at once as a ScenarioError whose keys are the YAML's
    (`federates.grid.parameters.H`). A loaded scenario that is added to becomes a built one (its file
    and overrides left behind, their content kept).
    """

    def __init__(self, federation: str, *, stop: float, step: float, start: float = 0.0,
                 base: str | Path | None = None, on_terminate: str | None = None) -> None:
        """`on_terminate`: what a model's request to end the simulation does (the YAML's key: "stop", the
        default, "fail" or "continue")."""
        self._base = (Path.cwd() / (base or ".")).resolve()
        self._data: dict[str, Any] = {"federation": federation, "time": {"start": start, "stop": stop, "step": step},
                                      "federates": {}, "connections": [], "interactions": {}}
        if on_terminate is not None:
            self._data["on_terminate"] = on_terminate
        self._file: Path | None = None
        self._overrides: dict[str, object] = {}
        self._spec: Spec | None = None

    @classmethod
    def load(cls, path: str | Path, overrides: Mapping[str, object] | None = None) -> Scenario:
        """Read and validate a scenario file, as `federation validate` does (every model is read here).

        `overrides` are what the CLI's `--set fed.param=value` and `--stop` give, as values, not text:
        `{"furnace.T_set": 1250.0, "time.stop": 3600.0}` (keys `time.<field>` or `<federate>.<parameter>`).
        Raises ScenarioError listing every problem.
        """
        given = dict(overrides or {})
        spec = load_spec(Path(path), given)
        scenario = cls(spec.federation, start=spec.time.start, stop=spec.time.stop, step=spec.time.step,
                       base=spec.folder())
        data = spec.spec.model_dump(exclude_none=True, exclude={"base"})
        for name in data["federates"]:  # absolute, so that the content means the same once built upon
            model_file = spec.model_of(name).path
            if model_file is not None:
                data["federates"][name][spec.federates[name].kind] = str(model_file)
        scenario._data = plain(data)
        scenario._file, scenario._overrides, scenario._spec = spec.path, given, spec
        return scenario

    # ------------------------------------------------------------------------------------------- what it is

    @property
    def federation(self) -> str:
        """The federation's name."""
        return str(self._data["federation"])

    @property
    def base(self) -> Path:
        """The absolute folder that relative paths and python modules resolve against."""
        return self._base

    @property
    def path(self) -> Path | None:
        """The scenario file it was loaded from; None when built in code (or added to since)."""
        return self._file

    @property
    def overrides(self) -> dict[str, object]:
        """The overrides it was loaded with (empty when built in code)."""
        return dict(self._overrides)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as the YAML's mapping (model paths absolute, `base` set)."""
        data = copy.deepcopy(self._data)
        return {"federation": data.pop("federation"), "base": str(self._base), **data}

    def to_yaml(self) -> str:
        """The scenario as a YAML file's text, which `federation run` and `Scenario.load` read as this one."""
        try:
            return _HEADER + yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        except yaml.representer.RepresenterError as exc:
            raise ValueError(f"scenario {self.federation!r} holds a value that is not a number, boolean, string, "
                             f"list or mapping: {exc.args[1] if len(exc.args) > 1 else exc}") from None

    def save(self, path: str | Path) -> Path:
        """Write the scenario as YAML (see to_yaml) and return the file's absolute path."""
        target = Path(path).absolute()
        target.write_text(self.to_yaml())
        return target

    def validate(self) -> Spec:
        """Check the scenario against its models (every problem at once: ScenarioError) and return the
        validated scenario (federation.scenario.Scenario: interfaces, exposures, recorded variables)."""
        if self._spec is None:
            with tempfile.TemporaryDirectory(prefix="federation-scenario-") as folder:
                try:
                    self._spec = load_spec(self._write(Path(folder)), None)
                except ScenarioError as exc:
                    raise ScenarioError(Path(f"<scenario {self.federation!r} built in Python>"), exc.problems) from None
        return self._spec

    def file_for(self, folder: Path) -> ScenarioFile:
        """The scenario file a run or sweep reads, and its overrides: the file it was loaded from (with its
        overrides) or, built in code, built_scenario.yaml written into `folder` (the run's or sweep's), to
        which the run's hosts and its record (run.json, params.json) refer."""
        return ScenarioFile(self._file, self.overrides) if self._file else ScenarioFile(self._write(folder), {})

    def _write(self, folder: Path) -> Path:
        path = folder / BUILT_SCENARIO
        path.write_text(self.to_yaml())
        return path

    # ----------------------------------------------------------------------------------------------- building

    def add(self, name: str, kind: str, source: str | Path, *, site: str, parameters: Mapping[str, object] | None = None,
            expose: Sequence[str] | None = None, tunable: Sequence[str] | None = None,
            step: float | None = None, on_terminate: str | None = None) -> Scenario:
        """Add a federate of any installed kind (the YAML's `<kind>: <source>`; federation.kinds), such as one
        another package adds: a kind that reads a file takes it relative to `base`. UnknownKind when no
        installed kind has that name. `on_terminate`: this federate's own (default: the scenario's)."""
        if kind_of(kind).reads_file:
            source = self._absolute(source)
        return self._add(name, kind, str(source), site, parameters, expose, tunable, step, on_terminate)

    def add_fmu(self, name: str, fmu: str | Path, *, site: str, parameters: Mapping[str, object] | None = None,
                expose: Sequence[str] | None = None, tunable: Sequence[str] | None = None,
                step: float | None = None, on_terminate: str | None = None) -> Scenario:
        """Add an FMU federate (the YAML's `fmu:`); `fmu` relative to `base`. `expose`: the outputs it shares
        (default: as the YAML's rule); `tunable`: the parameters its site lets the federation set; `step`:
        its communication step (default: the scenario's); `on_terminate`: what its request to end the
        simulation does (default: the scenario's)."""
        return self.add(name, "fmu", fmu, site=site, parameters=parameters, expose=expose, tunable=tunable, step=step,
                        on_terminate=on_terminate)

    def add_python(self, name: str, model: str | type, *, site: str, parameters: Mapping[str, object] | None = None,
                   expose: Sequence[str] | None = None, tunable: Sequence[str] | None = None,
                   step: float | None = None, on_terminate: str | None = None) -> Scenario:
        """Add a Python model federate (the YAML's `python:`): `"module:Class"`, imported from `base`, or the
        class itself, whose module the run imports (so not one defined in a notebook or `__main__`).
        `on_terminate`: what its StepResult(end=True) does (default: the scenario's)."""
        if isinstance(model, type):
            if model.__module__ == "__main__":
                raise ValueError(f"federate {name!r}: class {model.__qualname__} is defined in __main__ (a script or "
                                 "notebook), which a run cannot import; put it in a module in the base folder "
                                 f"{self._base} and give 'module:{model.__qualname__}'")
            model = f"{model.__module__}:{model.__qualname__}"
        return self._add(name, "python", model, site, parameters, expose, tunable, step, on_terminate)

    def add_replay(self, name: str, csv: str | Path, *, site: str, expose: Sequence[str] | None = None,
                   step: float | None = None) -> Scenario:
        """Add a replay federate (the YAML's `replay:`): a CSV of recorded series, relative to `base`."""
        return self.add(name, "replay", csv, site=site, expose=expose, step=step)

    def connect(self, output: str, input: str, *, factor: float | None = None,
                offset: float | None = None) -> Scenario:
        """Feed an input from another federate's output: `connect("grid.f", "furnace.f_grid")`. Units convert
        by their definitions; `factor` and `offset` state the conversion instead (input = factor * output +
        offset), as the YAML's `{from: ..., to: ..., factor: ..., offset: ...}` does."""
        stated = {key: value for key, value in (("factor", factor), ("offset", offset)) if value is not None}
        connection = Connection.parse({"from": output, "to": input, **stated})
        self._data["connections"].append(connection.written())
        return self._changed()

    def add_interaction(self, name: str, *, parameters: Sequence[str], publishers: Sequence[str] = (),
                        to: Mapping[str, str] | None = None) -> Scenario:
        """Declare an interaction class: its parameters, the python federates that send it, and which input
        receives which parameter (`to={"furnace.curtail": "curtail"}`)."""
        if name in self._data["interactions"]:
            raise ValueError(f"interaction {name!r} is already in scenario {self.federation!r}")
        self._data["interactions"][name] = {"parameters": list(parameters), "publishers": list(publishers),
                                            "to": dict(to or {})}
        return self._changed()

    def record(self, variables: Sequence[str] | None = None, *, dir: str | Path | None = None) -> Scenario:
        """Which `federate.variable` outputs results.csv holds (None: every exposed output), and `dir`, the
        results folder `federation run` uses for the saved file (relative to `base`)."""
        output = self._data.setdefault("output", {})
        if variables is None:
            output.pop("variables", None)
        else:
            output["variables"] = list(variables)
        if dir is not None:
            output["dir"] = str(self._absolute(dir))
        return self._changed()

    def _add(self, name: str, kind: str, source: str, site: str, parameters: Mapping[str, object] | None,
             expose: Sequence[str] | None, tunable: Sequence[str] | None, step: float | None,
             on_terminate: str | None = None) -> Scenario:
        if name in self._data["federates"]:
            raise ValueError(f"federate {name!r} is already in scenario {self.federation!r}")
        entry: dict[str, Any] = {kind: source, SITE_KEY: site}
        given = {"step": step, "parameters": None if parameters is None else dict(parameters),
                 "expose": None if expose is None else list(expose), "tunable": None if tunable is None else list(tunable),
                 "on_terminate": on_terminate}
        entry.update({key: value for key, value in given.items() if value is not None})
        self._data["federates"][name] = plain(entry)
        return self._changed()

    def _absolute(self, path: str | Path) -> Path:
        return (self._base / path).resolve()

    def _changed(self) -> Scenario:
        self._file, self._overrides, self._spec = None, {}, None
        return self

    def __repr__(self) -> str:
        where = f"loaded from {self._file}" if self._file else f"built in Python, base {self._base}"
        return f"<Scenario {self.federation!r}: {len(self._data['federates'])} federates, {where}>"


def plain(value: Any) -> Any:
    """Plain YAML values: paths as text, tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():  # a numpy scalar
        return item()
    return value
