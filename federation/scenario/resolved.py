"""The resolved scenario: a validated file with every federate's interface, built once by load_scenario, frozen."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from federation.kinds import Model, kinds
from federation.kinds.interface import FederateInterface

from . import resolve as _resolve
from .exposure import EXCHANGED_TYPES, element_connections, elements, exchanged, exposed
from .problems import Problem, ScenarioError
from .rules import check
from .schema import (Connection, FederateSpec, InteractionSpec, OutputSpec, ScenarioSpec, TimeSpec, parse_reference,
                     parse_spec)
from .source import apply_overrides, read_yaml, with_overrides

log = logging.getLogger(__name__)

__all__ = ["Scenario", "load_scenario"]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file and every federate's interface: what a run, a host or `validate` works from.

    Built by load_scenario (or from parts already checked); nothing in it changes afterwards.
    """

    spec: ScenarioSpec
    path: Path  # absolute
    file_sha256: str  # of the file's bytes as read
    override_items: tuple[tuple[str, object], ...] = ()  # as given, in order
    interface_items: tuple[tuple[str, FederateInterface], ...] = ()
    unchecked_items: tuple[Problem, ...] = ()
    _interfaces: Mapping[str, FederateInterface] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_interfaces", MappingProxyType(dict(self.interface_items)))

    # -- what the file says
    @property
    def federation(self) -> str:
        return self.spec.federation

    @property
    def time(self) -> TimeSpec:
        return self.spec.time

    @property
    def federates(self) -> Mapping[str, FederateSpec]:
        return self.spec.federates

    @property
    def connections(self) -> list[Connection]:
        return self.spec.connections

    @property
    def interactions(self) -> Mapping[str, InteractionSpec]:
        return self.spec.interactions

    @property
    def output(self) -> OutputSpec:
        return self.spec.output

    @property
    def relay_sites(self) -> tuple[str, ...]:
        """The sites that accept no connection (`relay_sites:`): with direct routing their channels go through
        the RTI. Each once, in file order."""
        return tuple(dict.fromkeys(self.spec.relay_sites))

    @property
    def interfaces(self) -> Mapping[str, FederateInterface]:
        """Federate name -> interface (read-only)."""
        return self._interfaces

    @property
    def unchecked(self) -> list[Problem]:
        """What validation left unchecked, and why (a python federate not imported under --no-exec...)."""
        return list(self.unchecked_items)

    @property
    def overrides(self) -> dict[str, object]:
        """The overrides applied by load_scenario (a copy)."""
        return dict(self.override_items)

    def sha256(self) -> str:
        """SHA-256 of the scenario file bytes as loaded."""
        return self.file_sha256

    def step_of(self, federate: str) -> float:
        """The federate's communication step, default time.step."""
        return self.spec.step_of(federate)

    def multi_site(self) -> bool:
        """Whether the federates belong to more than one site: then exposure is deny-by-default."""
        return self.spec.multi_site()

    def sites(self) -> list[str]:
        """The sites that own federates, sorted."""
        return self.spec.sites()

    def declared_outputs(self, federate: str) -> list[str] | None:
        """What the federate shares as far as the scenario alone tells (ScenarioSpec.declared_outputs)."""
        return self.spec.declared_outputs(federate)

    def exposure_rule(self, federate: str) -> str:
        """How the federate's exposure is decided, in words (what `validate` says of it)."""
        return self.spec.exposure_rule(federate)

    def inputs_of(self, federate: str) -> list[Connection]:
        """Connections feeding the federate, in file order, an array's element by element (element_connections)."""
        return element_connections(self.spec, self._interfaces, self.spec.inputs_of(federate))

    def element_connections(self) -> list[Connection]:
        """Every connection as it runs: one per element of an array connected to an array."""
        return element_connections(self.spec, self._interfaces, self.spec.connections)

    def shared_digest(self) -> str:
        """What every site's copy of the scenario must agree on, digested (ScenarioSpec.shared_digest)."""
        return self.spec.shared_digest()

    # -- with the models
    def exposed(self, federate: str) -> list[str]:
        """Outputs that leave the federate's host (federation.scenario.exposure.exposed)."""
        return exposed(self.spec, self._interfaces, federate)

    def shared(self) -> dict[str, dict[str, list[str]]]:
        """Site -> federate -> the outputs that leave the site's host (its federates' exposures)."""
        sites: dict[str, dict[str, list[str]]] = {}
        for name, spec in self.federates.items():
            sites.setdefault(spec.site, {})[name] = self.exposed(name)
        return sites

    def recorded(self) -> list[tuple[str, str]]:
        """(federate, variable) pairs to record: output.variables, default every exposed output (file order)."""
        if self.output.variables is not None:
            return [(name, element) for name, var in map(parse_reference, self.output.variables)
                    for element in elements(self._interfaces.get(name), var)]
        return [(name, var) for name in self.federates for var in self.exposed(name)]

    def recording_notes(self) -> list[Problem]:
        """Warnings, not errors: the outputs a federate's default expose list leaves out because they cannot
        travel (String), and that nothing at all will be recorded, when so."""
        notes: list[Problem] = []
        types = f"{', '.join(EXCHANGED_TYPES[:-1])} or {EXCHANGED_TYPES[-1]}"
        for name in self.federates:
            interface = self._interfaces.get(name)
            if self.declared_outputs(name) is not None or self.output.variables is not None or interface is None:
                continue  # what is exposed or recorded is named: nothing is left out unsaid
            left = [f"{var} (a {info.type} {'array' if info.array else 'variable'})"
                    for var in interface.outputs() if not exchanged(info := interface.variables[var])]
            if left:
                notes.append(Problem(f"federates.{name}", "outputs not exposed nor recorded, as only "
                                                          f"{types} values (and arrays of them) travel: "
                                                          f"{', '.join(left)}"))
        if not self.recorded():
            if self.output.variables is not None:
                key, why = "output.variables", "the list is empty"
            else:
                def whys(spec: FederateSpec) -> str:
                    if spec.expose == []:
                        return "expose is empty"
                    return ("no expose list, and none of its outputs is connected" if spec.expose is None
                            and self.multi_site() else "no output that can travel")
                each = "; ".join(f"{name}: {whys(spec)}" for name, spec in self.federates.items())
                key, why = "federates", f"no federate exposes a scalar {types} output ({each})"
            notes.append(Problem(key, f"nothing will be recorded: {why}; results.csv will hold only the time "
                                      "column and no results.png will be drawn"))
        return notes

    # -- where the models are
    def fmu_path(self, federate: str) -> Path:
        """Absolute FMU path (relative paths are relative to folder())."""
        return self._model_file(federate, "fmu")

    def replay_path(self, federate: str) -> Path:
        """Absolute replay CSV path (relative paths are relative to folder())."""
        return self._model_file(federate, "replay")

    def _model_file(self, federate: str, kind_name: str) -> Path:
        spec = self.federates[federate]
        return _resolve.model_path(self.folder(), federate, Path(spec.source) if spec.kind == kind_name else None,
                                   kind_name)

    def folder(self) -> Path:
        """The folder relative model paths and python modules resolve against (`base`, or the file's folder)."""
        return _resolve.models_folder(self.spec, self.path)

    def search_paths(self) -> list[Path]:
        """Where Python federates' modules are imported from (federation.scenario.resolve.search_paths)."""
        return _resolve.search_paths(self.folder())

    def model_of(self, federate: str) -> Model:
        """The federate's model as its kind reads it: the file or the code the scenario names, and its parameters."""
        return _resolve.model_of(self.spec, self.path, federate)


def load_scenario(
    path: Path | str, overrides: Mapping[str, object] | None = None, site: str | None = None,
    run_code: bool = True,
) -> Scenario:
    """Read, validate and resolve a scenario file; raise ScenarioError listing every problem found.

    Without `site`, every federate is checked against its model: python modules are imported and
    FMU binaries loaded (in a child process), which runs their code. With `site` (a site's host,
    or the coordinator), only that site's federates are: another site's are taken as the scenario
    declares them, and nothing of theirs is imported or loaded, even when their files are here.
    With `run_code=False` (`validate --no-exec`) no python module is imported and no binary loaded;
    `Scenario.unchecked` then says what was not checked. Nothing given is changed.
    """
    path = Path(path).resolve()
    given = dict(overrides or {})
    raw, data = read_yaml(path, keys=tuple(ScenarioSpec.model_fields))
    problems = apply_overrides(data, given)
    spec, unparsed, structural = parse_spec(data, kinds())
    problems += structural
    found = _resolve.resolve(spec, path, local_sites=None if site is None else (site,), run_code=run_code)
    problems += found.problems
    problems += check(spec, found.interfaces, site, unparsed)
    if problems:
        raise ScenarioError(path, with_overrides(problems, given))
    log.info("loaded scenario %s (%s, %d federates)", path, spec.federation, len(spec.federates))
    return Scenario(spec, path, hashlib.sha256(raw).hexdigest(), tuple(given.items()),
                    tuple(found.interfaces.items()), found.unchecked)
