"""Every cross-field rule of a scenario, checked against the federates' interfaces: pure, no I/O.

`check(spec, interfaces, site)` is what `validate`, the sweep's up-front check and every host run
before anything starts; the interfaces come from federation.scenario.resolve (or anywhere else).
"""

from __future__ import annotations

from collections.abc import Mapping

from federation.clip import short_repr
from federation.kinds import kinds
from federation.kinds.interface import REMOTE, FederateInterface, VariableInfo
from federation.names import COORDINATOR_SITE, name_problem
from federation.rti.time import END_OF_TIME

from .arrays import array_problem, element_problem, parameter_shape_problem, shape_problem
from .connections import IDENTIFIER, IDENTIFIER_RULE
from .exposure import EXCHANGED_TYPES, elements, exchanged, exposed
from .problems import Problem
from .schema import Connection, FederateSpec, InteractionSpec, ScenarioSpec, Unparsed, \
    parse_reference
from .units import unit_problem, unseen_problem
from .values import did_you_mean, type_mismatch

__all__ = ["check", "relay_site_problem", "settable_problem", "untunable"]

SETTABLE_CAUSALITIES = frozenset({"parameter", "structuralParameter", "input"})
_NS_PER_S = 1e9
_LAST_SECOND = END_OF_TIME / _NS_PER_S  # logical time is int64 nanoseconds: about 4.6e9 s (146 years)


def check(spec: ScenarioSpec, interfaces: Mapping[str, FederateInterface], site: str | None = None,
          unparsed: Unparsed | None = None) -> list[Problem]:
    """Every problem the scenario's cross-field rules find, given each federate's interface.

    `site` is the site whose view is checked (None: every site's): another site's federates are
    checked only as the scenario declares them, as is any federate whose interface is declared
    (kind REMOTE). A federate without an interface (it could not be read) is checked no further.
    `unparsed` says what of a structurally invalid file is missing (federation.scenario.schema.parse_spec).
    """
    return _Rules(spec, interfaces, site, unparsed).run()


def untunable(spec: FederateSpec) -> list[str]:
    """The parameters a federate is given that its `tunable` list leaves out.

    A federate without a `tunable` list accepts the parameters the scenario gives it.
    """
    return [] if spec.tunable is None else [p for p in spec.parameters if p not in spec.tunable]


def settable_problem(name: str, interface: FederateInterface, parameter: str) -> str | None:
    """Why the federate's parameter (or input) cannot be set; None when it can."""
    info = interface.variables.get(parameter)
    if info is None and (problem := element_problem(interface, name, parameter)) is not None:
        return problem
    if info is None or info.causality not in SETTABLE_CAUSALITIES:
        what = "no such variable" if info is None else f"causality {short_repr(info.causality)}"
        hint = did_you_mean(parameter, [n for n, v in interface.variables.items()
                                        if v.causality in SETTABLE_CAUSALITIES])
        return f"{short_repr(parameter)} is not a parameter of federate {short_repr(name)} ({what}){hint}"
    return None


def relay_site_problem(spec: ScenarioSpec, site: str) -> str | None:
    """Why `site` cannot be a relay site of the scenario (one that accepts no connection: its channels go
    through the RTI), or None when it can: it must be a site that owns federates."""
    if site in spec.sites():
        return None
    if site == COORDINATOR_SITE:
        return (f"{short_repr(site)} is the coordinator's site, not a site of the scenario's federates: relay "
                f"sites are sites that own federates ({', '.join(spec.sites())})")
    return f"unknown site {short_repr(site)} (the scenario's sites are {', '.join(spec.sites())}){did_you_mean(site, spec.sites())}"


def _to_ns(seconds: float) -> int:
    return round(seconds * _NS_PER_S)


class _Rules:
    """One check of one scenario: the problems found so far, and which input each connection drives."""

    def __init__(self, spec: ScenarioSpec, interfaces: Mapping[str, FederateInterface], site: str | None,
                 unparsed: Unparsed | None) -> None:
        self.spec = spec
        self.interfaces = interfaces
        self.site = site
        self.unparsed = unparsed or Unparsed(connections=list(enumerate(spec.connections)))
        self.problems: list[Problem] = []
        self.drivers: dict[tuple[str, str], str] = {}

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message))

    def run(self) -> list[Problem]:
        self.check_time()
        self.check_names()
        for name in self.spec.federates:
            self.check_federate(name)
            self.check_tunable(name)
        for index, connection in self.unparsed.connections:
            self.check_connection(f"connections[{index}]", connection)
        for name, interaction in self.spec.interactions.items():
            self.check_interaction(name, interaction)
        self.check_output()
        self.check_relay_sites()
        return self.problems

    def known_federate(self, key: str, federate: str, what: str = "federate") -> bool:
        """Whether the federate exists, after recording a problem if not (silent if its entry did not parse)."""
        if federate in self.spec.federates:
            return True
        if federate not in self.unparsed.federates:
            self.add(key, f"unknown {what} {short_repr(federate)}{did_you_mean(federate, self.spec.federates)}")
        return False

    def declared_only(self, name: str) -> bool:
        """Whether the federate is known only as the scenario declares it: its model is another site's
        (its own host checks it) or was not read (--no-exec)."""
        interface = self.interfaces.get(name)
        return ((self.site is not None and self.spec.federates[name].site != self.site)
                or (interface is not None and interface.kind == REMOTE))

    # -- time
    def within_time(self, key: str, seconds: float) -> bool:
        """Whether a time fits logical time (int64 nanoseconds), after recording a problem if not."""
        if abs(seconds) < _LAST_SECOND:
            return True
        self.add(key, f"{seconds:g} s is beyond the end of logical time (its range is +/-{_LAST_SECOND:.4g} s, "
                      "in integer nanoseconds)")
        return False

    def check_step(self, key: str, step: float, span_ns: int) -> None:
        if step <= 0:
            self.add(key, f"step must be > 0, got {step}")
        elif not self.within_time(key, step):
            return
        elif _to_ns(step) == 0:
            self.add(key, f"step {step} s is below the 1 ns resolution of logical time")
        elif span_ns > 0 and span_ns % _to_ns(step) != 0:
            self.add(key, f"step {step} s does not divide stop - start = {span_ns / _NS_PER_S} s")

    def check_time(self) -> None:
        time = self.spec.time
        span_ns = 0  # unknown when `time` did not parse: federate steps are then checked alone
        if not self.unparsed.time and all([self.within_time("time.start", time.start),
                                           self.within_time("time.stop", time.stop)]):
            span_ns = _to_ns(time.stop) - _to_ns(time.start)
            if span_ns <= 0:
                self.add("time.stop", f"stop ({time.stop}) must be greater than start ({time.start})")
            self.check_step("time.step", time.step, span_ns)
        for name, spec in self.spec.federates.items():
            if spec.step is not None:
                self.check_step(f"federates.{name}.step", spec.step, span_ns)

    # -- names
    def check_names(self) -> None:
        """Sites and the federation are named by one rule (federation.names), in every mode: what runs
        embedded also runs over gRPC and Ray, where those names become certificates, files and resources.
        Federates name columns and classes: they are identifiers."""
        spec = self.spec
        if spec.federation and (problem := name_problem("federation name", spec.federation)):
            self.add("federation", problem)
        first: dict[str, str] = {}  # site, folded to lower case -> the spelling first met
        for name, federate in spec.federates.items():
            key, site = f"federates.{name}.site", federate.site
            if (problem := name_problem("site name", site)) is not None:
                self.add(key, problem)
            elif site == COORDINATOR_SITE:
                self.add(key, f"site name {short_repr(site)} is reserved for the site that creates and records the run "
                              "(it may create and administer the federation); name the site otherwise")
            elif first.setdefault(site.lower(), site) != site:
                self.add(key, f"site {short_repr(site)} differs from site {short_repr(first[site.lower()])} only in case; site names "
                              "name files (certificates, logs), which some file systems do not tell apart")
        for name in spec.federates:
            if not IDENTIFIER.match(name):
                self.add(f"federates.{name}", f"federate name {short_repr(name)} is not {IDENTIFIER_RULE}")

    # -- variables
    def variable(self, key: str, federate: str, variable: str, causality: str | None = None) -> VariableInfo | None:
        """The variable, or None after recording a problem (unknown federate/variable; silent if unreadable).

        An unknown name gets the closest names of the federate's variables (of `causality` first) as hints.
        """
        if not self.known_federate(key, federate):
            return None
        interface = self.interfaces.get(federate)
        if interface is None:
            return None  # its interface could not be read: already reported
        info = interface.variables.get(variable)
        if info is None and (problem := element_problem(interface, federate, variable)) is not None:
            self.add(key, problem)
        elif info is None:
            hint = did_you_mean(variable, [n for n, v in interface.variables.items() if v.causality == causality])
            self.add(key, f"federate {short_repr(federate)} has no variable {short_repr(variable)}"
                          f"{hint or did_you_mean(variable, interface.variables)}")
        return info

    def exchangeable(self, key: str, federate: str, info: VariableInfo) -> bool:
        """Whether the variable's values can travel through the RTI, after recording a problem if not."""
        if exchanged(info):
            if (problem := array_problem(federate, info)) is None:
                return True
            self.add(key, problem)
            return False
        what = f"a {info.type} {'array' if info.array else 'variable'}"
        self.add(key, f"{federate}.{info.name} is {what}; only "
                      f"{', '.join(EXCHANGED_TYPES)} values (and arrays of them) can be exposed, connected or recorded")
        return False

    def exposed_output(self, key: str, federate: str, variable: str) -> VariableInfo | None:
        """An output other federates may see, or None after recording why not."""
        info = self.variable(key, federate, variable, "output")
        if info is None:
            return None
        if info.causality != "output":
            self.add(key, f"{federate}.{variable} is not an output (causality {short_repr(info.causality)})")
            return None
        if not self.exchangeable(key, federate, info):
            return None
        shared = exposed(self.spec, self.interfaces, federate)
        if any(e not in shared for e in elements(self.interfaces.get(federate), variable)):
            self.add(key, f"{federate}.{variable} is not exposed (not in federates.{federate}.expose)")
            return None
        return info

    def driven_input(self, key: str, federate: str, variable: str) -> VariableInfo | None:
        """An input not yet driven by another connection/interaction, or None after recording why not."""
        info = self.variable(key, federate, variable, "input")
        if info is None:
            return None
        if info.causality != "input":
            self.add(key, f"{federate}.{variable} is not an input (causality {short_repr(info.causality)})")
            return None
        if not self.exchangeable(key, federate, info):
            return None
        for element in elements(self.interfaces.get(federate), variable):  # an array's one by one
            first = self.drivers.setdefault((federate, element), key)
            if first != key:
                self.add(key, f"input {federate}.{element} is already fed by {first}")
                break
        return info

    # -- federates
    def check_federate(self, name: str) -> None:
        spec = self.spec.federates[name]
        interface = self.interfaces.get(name)
        if interface is None or self.declared_only(name):
            return  # a remote federate's site checks its own declarations
        for index, variable in enumerate(spec.expose or []):
            info = self.variable(f"federates.{name}.expose[{index}]", name, variable, "output")
            if info is not None and info.causality != "output":
                self.add(f"federates.{name}.expose[{index}]",
                         f"{name}.{variable} is not an output (causality {short_repr(info.causality)}); "
                         "only outputs can be exposed")
            elif info is not None:
                self.exchangeable(f"federates.{name}.expose[{index}]", name, info)
        for index, parameter in enumerate(spec.tunable or []):
            self.settable(f"federates.{name}.tunable[{index}]", name, interface, parameter)
        for parameter, value in spec.parameters.items():
            key = f"federates.{name}.parameters.{parameter}"
            if self.settable(key, name, interface, parameter) and (problem := parameter_shape_problem(
                    name, interface, interface.variables[parameter], value, dict(spec.parameters))):
                self.add(key, problem)

    def settable(self, key: str, name: str, interface: FederateInterface, parameter: str) -> bool:
        """Whether the parameter can be set, after recording a problem if not."""
        if (problem := settable_problem(name, interface, parameter)) is not None:
            self.add(key, problem)
        return problem is None

    def check_tunable(self, name: str) -> None:
        """The site's rule, checked here as its host will check it: only `tunable` parameters may be set."""
        spec = self.spec.federates[name]
        for parameter in untunable(spec):
            self.add(f"federates.{name}.parameters.{parameter}",
                     f"{short_repr(parameter)} is not in federates.{name}.tunable ({', '.join(spec.tunable or []) or 'empty'}): "
                     f"site {short_repr(spec.site)} does not let the federation set it, and its host would refuse to run")

    # -- connections
    def check_connection(self, key: str, connection: Connection) -> None:
        if connection.src_federate == connection.dst_federate:
            # The RTI reflects an update to the other federates only, as HLA does.
            self.add(key, f"{short_repr(str(connection))} connects federate "
                          f"{short_repr(connection.src_federate)} to itself; a model's own feedback belongs inside it")
        src = self.exposed_output(key, connection.src_federate, connection.src_variable)
        dst = self.driven_input(key, connection.dst_federate, connection.dst_variable)
        if src is None or dst is None:
            return
        if self.declared_only(connection.src_federate) or self.declared_only(connection.dst_federate):
            return  # types and units of another site's model are checked on its own host
        if (mismatch := shape_problem(connection, src, dst) or type_mismatch(connection, src, dst)) is not None:
            self.add(key, mismatch)
        if (problem := unit_problem(connection, self.interfaces) or unseen_problem(connection, self.spec,
                                                                                   self.interfaces)) is not None:
            self.add(key, problem)
        if connection.stated and dst.type != "Real":
            self.add(key, f"{connection.dst} is a {dst.type} input: only a Real input takes a stated factor or offset")

    # -- interactions
    def check_interaction(self, name: str, interaction: InteractionSpec) -> None:
        base = f"interactions.{name}"
        if not IDENTIFIER.match(name):
            self.add(base, f"interaction name {short_repr(name)} is not {IDENTIFIER_RULE}")
        if not interaction.parameters:
            self.add(f"{base}.parameters", "an interaction needs at least one parameter")
        for index, publisher in enumerate(interaction.publishers):
            if (self.known_federate(f"{base}.publishers[{index}]", publisher, "publisher federate")
                    and not getattr(kinds().get(publisher_kind := self.spec.federates[publisher].kind),
                                    "sends_interactions", True)):  # an unknown kind: resolve says so
                self.add(f"{base}.publishers[{index}]", f"{short_repr(publisher)} is a {publisher_kind} federate, "
                                                        "which sends no interactions (python federates do)")
        for target, parameter in interaction.to.items():
            key = f"{base}.to.{target}"
            try:
                federate, variable = parse_reference(target)
            except ValueError as exc:
                self.add(key, str(exc))
                continue
            self.driven_input(key, federate, variable)
            if parameter not in interaction.parameters:
                self.add(key, f"{short_repr(parameter)} is not a parameter of interaction {short_repr(name)} "
                              f"(declared: {', '.join(interaction.parameters) or 'none'})")

    # -- routing
    def check_relay_sites(self) -> None:
        # With a federate entry unread (or none), which sites exist is not known: names are then not checked.
        sites_known = self.unparsed.federates == frozenset()
        seen: dict[str, int] = {}
        for index, site in enumerate(self.spec.relay_sites):
            key = f"relay_sites[{index}]"
            if site in seen:
                self.add(key, f"site {short_repr(site)} is already listed at relay_sites[{seen[site]}]")
            elif sites_known and (problem := relay_site_problem(self.spec, site)) is not None:
                self.add(key, problem)
            seen.setdefault(site, index)

    # -- output
    def check_output(self) -> None:
        seen: dict[str, int] = {}
        for index, reference in enumerate(self.spec.output.variables or []):
            key = f"output.variables[{index}]"
            try:
                federate, variable = parse_reference(reference)
            except ValueError as exc:
                self.add(key, str(exc))
                continue
            if reference in seen:
                self.add(key, f"{reference} is already recorded by output.variables[{seen[reference]}]")
            seen.setdefault(reference, index)
            self.exposed_output(key, federate, variable)
