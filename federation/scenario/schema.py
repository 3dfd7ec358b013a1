"""The scenario file's schema: pydantic models of what it holds and the parsing of its pieces; no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Container, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, FiniteFloat, PlainSerializer, PlainValidator,
                      StringConstraints, ValidationError, ValidationInfo, model_serializer, model_validator)

from federation.clip import short_repr

from .connections import Connection, parse_reference
from .problems import Problem, pydantic_problems

__all__ = ["Connection", "FederateSpec", "InteractionSpec", "OutputSpec", "ScenarioSpec", "TimeSpec", "Unparsed",
           "parse_reference", "parse_spec"]

ParameterValue = float | int | bool | str | list[Any]  # a list (nested per dimension) for an FMI 3 array
PATH_MAX = 4096  # Linux's PATH_MAX, the longest of the usual file systems'


# --------------------------------------------------------------------------------------------------------- field types

def _parameter_value(value: object) -> ParameterValue:
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():  # numpy scalar, e.g. from a sweep
        value = item()
    elif callable(getattr(value, "tolist", None)):  # a numpy array: its nested lists
        value = value.tolist()  # type: ignore[attr-defined]
    if isinstance(value, (list, tuple)):  # an array's: every item a scalar, or a list for a further dimension
        return [_parameter_value(v) for v in value]
    if not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"a parameter value must be a number, boolean, string or a list of them (an array's), "
                         f"got {short_repr(value)}")
    return value


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number of seconds, got {str(value).lower()}")
    return value


def too_long(value: str) -> str | None:
    """Why a path this long names no file, or None. Resolving it would walk every one of its parts."""
    if len(value) > PATH_MAX:
        return f"a path of {len(value):,} characters names no file (file systems take at most {PATH_MAX})"
    return None


def _path_length(value: object) -> object:
    if isinstance(value, str) and (why := too_long(value)):
        raise ValueError(why)
    return value


def _none_is_empty(empty: Callable[[], object]) -> Callable[[object], object]:
    return lambda value: empty() if value is None else value


# A key given with every item commented out reads as null: it lists nothing (an absent key keeps its default,
# so `expose:` left empty exposes nothing rather than everything).
_NULL_IS_EMPTY_LIST = BeforeValidator(_none_is_empty(list))
_NULL_IS_EMPTY_DICT = BeforeValidator(_none_is_empty(dict))


def _one_of(names: tuple[str, ...]) -> Callable[[object], str]:
    """A validator taking one of `names`, in any letter case, as it is spelled there."""
    def check(value: object) -> str:
        for name in names:
            if isinstance(value, str) and value.strip().lower() == name.lower():
                return name
        raise ValueError(f"expected one of {', '.join(names)}, got {short_repr(value)}")
    return check


def _relative_tolerance(value: object) -> float:
    number = value
    if isinstance(value, str):  # PyYAML reads 1e-6 (no dot) as a string
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 < number < 1:
        raise ValueError(f"a relative tolerance is a number between 0 and 1, exclusive (say 1e-6), got {short_repr(value)}")
    return float(number)


# An FMU federate's interface and Model Exchange solver (adapters.fmu.exchange), in fmpy.simulate_fmu's names.
FMI_INTERFACES = ("co_simulation", "model_exchange")
SOLVERS = ("CVode", "Euler")
FMU_KEYS = ("interface", "solver", "tolerance")

ModelPath = Annotated[Path, BeforeValidator(_path_length)]
ConnectionItem = Annotated[Connection, PlainValidator(Connection.parse), PlainSerializer(Connection.written)]
# Not StrictFloat: PyYAML reads '1e6' (no dot) as a string, which lax parsing turns into the number a user means;
# only YAML booleans, which lax parsing would take as 1.0 / 0.0, are refused.
Seconds = Annotated[FiniteFloat, BeforeValidator(_not_bool)]
ParameterItem = Annotated[ParameterValue, PlainValidator(_parameter_value)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# ------------------------------------------------------------------------------------------------------------- models

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeSpec(_Strict):
    """Simulated time interval [start, stop] in seconds and the default communication step."""

    start: Seconds = 0.0
    stop: Seconds
    step: Seconds


# The keys of a federate besides the one that names its model (its kind's key: fmu, python, replay...).
FEDERATE_KEYS = ("site", "step", "parameters", "expose", "tunable", "on_terminate", *FMU_KEYS)


OnTerminate = Literal["stop", "fail", "continue"]  # federation.coupling.ON_TERMINATE


class FederateSpec(_Strict):
    """One federate: its model under its kind's key (`fmu: grid.fmu`, `python: ems:Dispatcher`, `replay: x.csv`,
    or another installed kind's: federation.kinds), its site, step, parameters and what it exposes."""

    kind: NonEmptyStr  # the key that names its model: the kind (federation.kinds) that runs it
    source: NonEmptyStr  # that key's value as written: a file relative to the scenario, or code (module:Class)
    site: NonEmptyStr  # the party that owns the federate and runs its host; `owner` is accepted too
    step: Seconds | None = None
    parameters: Annotated[dict[str, ParameterItem], _NULL_IS_EMPTY_DICT] = Field(default_factory=dict)
    # absent: what the scenario connects or records (several sites), every output (one site); Scenario.exposed
    expose: Annotated[list[str] | None, _NULL_IS_EMPTY_LIST] = None
    # Parameters the site lets the federation set (scenario values, --set, sweeps); absent: any
    # parameter given in the scenario. Enforced by the site's host (federation.security.tunable).
    tunable: Annotated[list[str] | None, _NULL_IS_EMPTY_LIST] = None
    on_terminate: OnTerminate | None = None  # absent: the scenario's
    # FMU federates only: which of the FMU's interfaces runs (absent: co-simulation when it offers it), and for
    # Model Exchange the solver (absent: CVode) and its relative tolerance (absent: the FMU's default experiment's,
    # else 1e-5), as fmpy.simulate_fmu takes them
    interface: Annotated[str | None, PlainValidator(_one_of(FMI_INTERFACES))] = None
    solver: Annotated[str | None, PlainValidator(_one_of(SOLVERS))] = None
    tolerance: Annotated[float | None, PlainValidator(_relative_tolerance)] = None

    @model_validator(mode="after")
    def _fmu_keys_for_fmus(self) -> FederateSpec:
        given = [key for key in FMU_KEYS if getattr(self, key) is not None]
        if given and self.kind != "fmu":
            raise ValueError(f"{', '.join(given)}: only FMU federates take {'these keys' if len(given) > 1 else 'this key'}"
                             f" (this one is {short_repr(self.kind)})")
        return self

    def fmu_options(self) -> dict[str, str | float]:
        """The FMU keys given (interface, solver, tolerance), for the model's kind (federation.kinds.Model)."""
        return {key: value for key in FMU_KEYS if (value := getattr(self, key)) is not None}

    @model_validator(mode="before")
    @classmethod
    def _model_key(cls, data: Any, info: ValidationInfo) -> Any:
        """`owner`, the site's older name, is read as `site`; the key that is none of FEDERATE_KEYS names the
        model, its kind and source (the data given is not changed). Which kinds exist is the registry's to say
        (federation.kinds), passed as the validation context `kinds`: then among several other keys the one
        that is a kind names the model and the rest are unknown keys; alone, an unknown kind's key names it
        too (federation.scenario.resolve reports it)."""
        if not isinstance(data, Mapping) or "kind" in data:
            return data
        if "owner" in data:
            if "site" in data:
                raise ValueError("both 'site' and 'owner' are given: 'owner' is the older name of 'site', give one")
            data = {("site" if key == "owner" else key): value for key, value in data.items()}
        models = [key for key in data if key not in FEDERATE_KEYS]
        known = (info.context or {}).get("kinds")
        if len(models) > 1 and known is not None and len(installed := [k for k in models if k in known]) == 1:
            models = installed  # the others stay, for pydantic to report as unknown keys where they are
        if len(models) != 1:
            given = f" (got {', '.join(short_repr(str(k)) for k in models)})" if models else ""
            raise ValueError(f"exactly one model key is required: fmu, python, replay or another installed kind"
                             f"{given}; a federate's other keys are {', '.join(FEDERATE_KEYS)}")
        key = models[0]
        value = data[key]
        if not isinstance(value, (str, Path)):
            raise ValueError(f"{short_repr(str(key))}: expected a file or module:Class, got {type(value).__name__}")
        return {**{k: v for k, v in data.items() if k != key}, "kind": str(key), "source": str(value)}

    @model_serializer(mode="wrap")
    def _as_written(self, handler: Any) -> Any:
        """Dumped as a file says it: `fmu: grid.fmu`, not kind and source."""
        data = handler(self)
        if isinstance(data, dict) and "kind" in data:
            kind, source = data.pop("kind"), data.pop("source")
            data = {kind: source, **data}
        return data


class InteractionSpec(_Strict):
    """An interaction class: its parameters, who may send it, and which inputs receive which parameter."""

    parameters: list[str]
    publishers: Annotated[list[str], _NULL_IS_EMPTY_LIST] = Field(default_factory=list)
    to: Annotated[dict[str, str], _NULL_IS_EMPTY_DICT] = Field(default_factory=dict)


class OutputSpec(_Strict):
    """Where results go and which 'federate.variable' outputs are recorded (default: all exposed outputs)."""

    dir: Path = Path("results")
    variables: Annotated[list[str] | None, _NULL_IS_EMPTY_LIST] = None  # absent: every exposed output


class ScenarioSpec(_Strict):
    """What a scenario file says, validated field by field; what the scenario alone tells, without any model."""

    federation: NonEmptyStr
    time: TimeSpec
    federates: Annotated[dict[str, FederateSpec], Field(min_length=1)]
    connections: Annotated[list[ConnectionItem], _NULL_IS_EMPTY_LIST] = Field(default_factory=list)
    interactions: Annotated[dict[str, InteractionSpec], _NULL_IS_EMPTY_DICT] = Field(default_factory=dict)
    output: OutputSpec = Field(default_factory=OutputSpec)
    # Sites that accept no connection (behind NAT or a firewall): with direct routing, their channels go
    # through the RTI. Every site's copy must agree (shared_digest).
    relay_sites: Annotated[list[NonEmptyStr], _NULL_IS_EMPTY_LIST] = Field(default_factory=list)
    # What a model's request to end the simulation does (an FMU's terminateSimulation, say): end the run at
    # that time (`stop`, a completed run), fail it (`fail`), or let the others run on (`continue`).
    on_terminate: OnTerminate = "stop"
    # Where relative model paths and python modules resolve (relative to this file's folder); absent: this
    # file's folder. A copy of a scenario written elsewhere (the Python API writes one into its run's folder)
    # so still finds the models and modules of the folder it was made in.
    base: ModelPath | None = None

    def step_of(self, federate: str) -> float:
        """The federate's communication step, default time.step."""
        step = self.federates[federate].step
        return self.time.step if step is None else step

    def on_terminate_of(self, federate: str) -> str:
        """What the federate's request to end the simulation does: its own on_terminate, else the scenario's."""
        own = self.federates[federate].on_terminate
        return self.on_terminate if own is None else own

    @cached_property
    def _sites(self) -> frozenset[str]:  # asked for every connection checked: counted once (the spec is frozen)
        return frozenset(spec.site for spec in self.federates.values())

    def multi_site(self) -> bool:
        """Whether the federates belong to more than one site: then exposure is deny-by-default."""
        return len(self._sites) > 1

    def sites(self) -> list[str]:
        """The sites that own federates, sorted."""
        return sorted(self._sites)

    @cached_property
    def _mentions(self) -> dict[str, list[str]]:
        mentions: dict[str, dict[str, None]] = {}
        refs = [(c.src_federate, c.src_variable) for c in self.connections]
        for ref in self.output.variables or []:
            try:
                refs.append(parse_reference(ref))
            except ValueError:
                continue  # a problem of its own, at its own key
        for name, variable in refs:
            mentions.setdefault(name, {})[variable] = None
        return {name: list(variables) for name, variables in mentions.items()}

    def mentioned_outputs(self, federate: str) -> list[str]:
        """The federate's variables the scenario connects to an input or records, in the order first named."""
        return list(self._mentions.get(federate, []))

    def declared_outputs(self, federate: str) -> list[str] | None:
        """What the federate shares, as far as the scenario alone tells, without its model: its `expose`
        list; without one, in a scenario of several sites, the outputs it connects or records; None when
        only its model tells (one site, no expose list: every output it has)."""
        spec = self.federates[federate]
        if spec.expose is not None:
            return list(dict.fromkeys(spec.expose))
        if self.multi_site():
            return self.mentioned_outputs(federate)
        return None

    def declared_inputs(self, federate: str) -> list[str]:
        """The federate's inputs the scenario feeds, by connection or interaction."""
        inputs = [c.dst_variable for c in self.connections if c.dst_federate == federate]
        return inputs + [t.split(".", 1)[1] for i in self.interactions.values() for t in i.to
                         if t.split(".", 1)[0] == federate]

    def exposure_rule(self, federate: str) -> str:
        """How the federate's exposure is decided, in words (what `validate` says of it)."""
        if self.federates[federate].expose is not None:
            return "its expose list"
        if self.multi_site():
            return "no expose list: only what the scenario connects or records"
        return "no expose list, one site: every output"

    def inputs_of(self, federate: str) -> list[Connection]:
        """Connections feeding the federate, in file order."""
        return [c for c in self.connections if c.dst_federate == federate]

    def shared_digest(self) -> str:
        """A digest of what every site's copy of the scenario must agree on: time, federates with their
        sites, steps and expose lists, connections, interactions, relay sites, on_terminate. Not what a site keeps to
        itself (parameters, model files, tunables) nor the coordinator's output section."""
        shared: dict[str, Any] = {
            "federation": self.federation,
            "time": self.time.model_dump(),
            "federates": {name: [spec.site, self.step_of(name), spec.expose] for name, spec in self.federates.items()},
            "connections": sorted(str(c) for c in self.connections),
            "interactions": {name: spec.model_dump() for name, spec in self.interactions.items()},
        }
        if stated := sorted(json.dumps(c.written()) for c in self.connections if c.stated):
            shared["conversions"] = stated  # absent when none is stated: digests as before the key existed
        if self.relay_sites:  # absent when empty: a scenario without the key digests as before it existed
            shared["relay_sites"] = sorted(set(self.relay_sites))
        # What a model's request to end does decides whether everyone's run ends: all copies must agree. Absent when
        # nothing is said beyond the default (digests as before the key existed).
        ends = {name: self.on_terminate_of(name) for name in self.federates}
        if any(v != "stop" for v in ends.values()):
            shared["on_terminate"] = ends
        return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------------------ parsing

class _AnyName:
    """Contains every name: no federate entry could be read, so no reference to one is reported unknown."""

    def __contains__(self, name: object) -> bool:
        return True


@dataclass
class Unparsed:
    """What the cross-checks of a structurally invalid file skip, and the connections that did parse."""

    time: bool = False
    federates: Container[str] = frozenset()
    connections: list[tuple[int, Connection]] = field(default_factory=list)


def _valid(model: type[BaseModel], value: object, context: Mapping[str, Any] | None = None) -> Any:
    try:
        return model.model_validate(value, context=context)
    except ValidationError:
        return None


def parse_spec(data: Mapping[str, Any], kinds: Collection[str] | None = None
               ) -> tuple[ScenarioSpec, Unparsed | None, list[Problem]]:
    """The scenario a file's data holds, with its structural problems. When it is invalid, the parts that
    validate alone are kept and `Unparsed` says what is missing, so that one run reports every problem.
    `kinds`: the installed federate kinds (federation.kinds), which tell a model's key from a mistyped one."""
    context = None if kinds is None else {"kinds": frozenset(kinds)}
    try:
        return ScenarioSpec.model_validate(data, context=context), None, []
    except ValidationError as exc:
        # Cross-check what did parse too: a user fixing one problem should not only then meet the next.
        problems = pydantic_problems(exc)
    unparsed = Unparsed()
    time = _valid(TimeSpec, data.get("time"))
    unparsed.time = time is None
    federates: dict[str, FederateSpec] = {}
    raw_federates = data.get("federates")
    if isinstance(raw_federates, Mapping):
        failed: set[str] = set()
        for name, entry in raw_federates.items():
            spec = _valid(FederateSpec, entry, context)
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
    spec = ScenarioSpec.model_construct(
        federation=name if isinstance(name := data.get("federation"), str) else "",
        time=time if time is not None else TimeSpec.model_construct(start=0.0, stop=0.0, step=0.0),
        federates=federates,
        connections=[c for _, c in unparsed.connections],
        interactions=interactions,
        output=_valid(OutputSpec, data.get("output", {})) or OutputSpec(),
        relay_sites=[s for s in relay if isinstance(s, str)] if isinstance(relay := data.get("relay_sites"), list) else [],
    )
    return spec, unparsed, problems
