"""The authorization policy: who may create, join as, publish, subscribe to and administer what; pure evaluation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from federation.coupling import END_INTERACTION
from federation.errors import CarriesFields, ConfigurationError
from federation.names import RECORDER
from federation.rti.errors import PermissionDenied
from federation.scenario import Problem, Scenario, format_problems
from federation.scenario.source import pydantic_problems, read_yaml

from .patterns import common_match, is_pattern, specificity

__all__ = ["Decision", "FederationRules", "PermissionDenied", "Policy", "PolicyError", "from_scenario", "load_policy"]

Members = dict[str, list[str]]  # object class -> attribute names


class PolicyError(CarriesFields, ConfigurationError):
    """The policy file is invalid; carries every problem found, each naming its key."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path, self.problems = path, problems
        super().__init__(format_problems(path, problems))


@dataclass(frozen=True)
class Decision:
    """The verdict on one request, and the rule (a dotted key into the policy) that decided it."""

    allowed: bool
    rule: str
    reason: str

    def check(self) -> None:
        """Raise PermissionDenied naming the rule unless allowed."""
        if not self.allowed:
            raise PermissionDenied(f"denied by policy rule {self.rule}: {self.reason}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FederationRules(_Strict):
    """Rules of one federation execution; everything not granted here is denied."""

    create: list[str] = Field(default_factory=list, description="sites that may create the federation")
    admin: list[str] = Field(default_factory=list, description="sites that may inspect or destroy it")
    join: dict[str, list[str]] = Field(default_factory=dict, description="site -> federates it may join as")
    publish: dict[str, Members] = Field(default_factory=dict, description="federate -> class -> attributes")
    subscribe: dict[str, Members] = Field(default_factory=dict, description="federate -> class -> attributes")
    publish_interactions: dict[str, list[str]] = Field(default_factory=dict)
    subscribe_interactions: dict[str, list[str]] = Field(default_factory=dict)


class Policy(_Strict):
    """Global administrators and per-federation rules. The empty policy denies everything."""

    admin: list[str] = Field(default_factory=list, description="sites that may administer every federation")
    federations: dict[str, FederationRules] = Field(default_factory=dict, description="federation name or glob -> rules")

    @model_validator(mode="after")
    def _unambiguous(self) -> Policy:
        """Refuse two equally specific patterns that can match one name: neither order nor luck may decide."""
        patterns = [key for key in self.federations if is_pattern(key)]
        for i, a in enumerate(patterns):
            for b in patterns[i + 1:]:
                if specificity(a) == specificity(b) and (name := common_match(a, b)) is not None:
                    raise ValueError(f"federations.{a} and federations.{b} are equally specific and both match "
                                     f"{name!r}: make one more specific, or give that federation its own entry")
        return self

    # ------------------------------------------------------------------ admin
    def _rules(self, federation: str) -> tuple[str, FederationRules | None]:
        """The rules of a federation: its own entry, else the most specific glob pattern (e.g. 'test-*')
        matching it, whatever the order of the file (a load refuses ties)."""
        if federation in self.federations:
            return federation, self.federations[federation]
        matching = [key for key in self.federations if is_pattern(key) and fnmatchcase(federation, key)]
        if not matching:
            return federation, None
        key = max(matching, key=specificity)
        return key, self.federations[key]

    def _federation_right(self, site: str, federation: str, right: str, verb: str) -> Decision:
        """A per-federation right ('admin' or 'create'); global administrators hold every one."""
        if site in self.admin:
            return Decision(True, "admin", f"site {site!r} is a global administrator")
        key, rules = self._rules(federation)
        rule = f"federations.{key}.{right}"
        if rules is not None and site in getattr(rules, right):
            return Decision(True, rule, f"site {site!r} may {verb} {federation!r}")
        return Decision(False, rule, f"site {site!r} may not {verb} federation {federation!r}")

    def may_admin(self, site: str, federation: str) -> Decision:
        return self._federation_right(site, federation, "admin", "administer")

    def may_create(self, site: str, federation: str) -> Decision:
        return self._federation_right(site, federation, "create", "create")

    def may_enter(self, site: str, federation: str) -> Decision:
        """Whether a site may open a session on a federation: only if it holds some right in it.

        Decided on the name alone, so a site with no right cannot learn whether the federation exists.
        """
        if site in self.admin:
            return Decision(True, "admin", f"site {site!r} is a global administrator")
        key, rules = self._rules(federation)
        rule = f"federations.{key}"
        if rules is not None and (site in rules.join or site in rules.admin or site in rules.create):
            return Decision(True, rule, f"site {site!r} holds a right in {federation!r}")
        return Decision(False, rule, f"site {site!r} holds no right in federation {federation!r}")

    def visible(self, site: str, names: Iterable[str]) -> list[str]:
        """The federations a site may see in a listing: those it administers."""
        return [n for n in names if self.may_admin(site, n).allowed]

    # ---------------------------------------------------------------- session
    def may_join(self, site: str, federation: str, federate: str) -> Decision:
        key, rules = self._rules(federation)
        rule = f"federations.{key}.join.{site}"
        allowed = [] if rules is None else rules.join.get(site, [])
        if federate in allowed:
            return Decision(True, rule, f"site {site!r} joins as {federate!r}")
        return Decision(False, rule, f"site {site!r} may join as {sorted(allowed)}, not as {federate!r}")

    def _members(self, federation: str, section: str, federate: str, class_name: str,
                 members: Iterable[str]) -> Decision:
        key, rules = self._rules(federation)
        granted: Members = {} if rules is None else getattr(rules, section).get(federate, {})
        rule = f"federations.{key}.{section}.{federate}.{class_name}"
        allowed = set(granted.get(class_name, []))
        refused = sorted(set(members) - allowed)
        if refused:
            return Decision(False, rule, f"federate {federate!r} may not {section} {class_name}.{{{', '.join(refused)}}}"
                                         f" (allowed: {sorted(allowed)})")
        return Decision(True, rule, f"federate {federate!r} may {section} {class_name}")

    def may_publish(self, federation: str, federate: str, class_name: str, members: Iterable[str]) -> Decision:
        return self._members(federation, "publish", federate, class_name, members)

    def may_subscribe(self, federation: str, federate: str, class_name: str, members: Iterable[str]) -> Decision:
        return self._members(federation, "subscribe", federate, class_name, members)

    def _interaction(self, federation: str, section: str, federate: str, class_name: str) -> Decision:
        key, rules = self._rules(federation)
        allowed = [] if rules is None else getattr(rules, section).get(federate, [])
        rule = f"federations.{key}.{section}.{federate}"
        verb = section.replace("_interactions", "")
        if class_name == END_INTERACTION:
            # A model's request to end the run (a time and a reason code, nothing of the model): any member may
            # send it, and only the recorder hears it.
            allowed = [END_INTERACTION] if rules is not None and (verb == "publish" or federate == RECORDER) else []
            rule = f"federations.{key}.(built in: {END_INTERACTION} goes from any federate to {RECORDER})"
        if class_name in allowed:
            return Decision(True, rule, f"federate {federate!r} may {verb} {class_name}")
        return Decision(False, rule, f"federate {federate!r} may not {verb} interaction {class_name!r} "
                                     f"(allowed: {sorted(allowed)})")

    def may_publish_interaction(self, federation: str, federate: str, class_name: str) -> Decision:
        return self._interaction(federation, "publish_interactions", federate, class_name)

    def may_subscribe_interaction(self, federation: str, federate: str, class_name: str) -> Decision:
        return self._interaction(federation, "subscribe_interactions", federate, class_name)

    # ---------------------------------------------------------------- files
    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(), sort_keys=True)


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy file; PolicyError names the file and the key of every problem."""
    path = Path(path).resolve()
    try:
        _, data = read_yaml(path, "policy file", tuple(Policy.model_fields))
    except Exception as exc:  # ScenarioError: the same reading rules, reported as a policy problem
        problems = getattr(exc, "problems", [Problem("(file)", str(exc))])
        raise PolicyError(path, problems) from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(path, pydantic_problems(exc)) from None


def from_scenario(scenario: Scenario, coordinator: str, recorder: str) -> Policy:
    """The default policy of a run: sites join as their federates; data flows exactly as the scenario wires it.

    The coordinator creates and administers the federation and joins as the recorder, which
    may subscribe to the recorded variables only.
    """
    join: dict[str, list[str]] = {coordinator: [recorder]}
    publish: dict[str, Members] = {}
    subscribe: dict[str, Members] = {}
    for name, spec in scenario.federates.items():
        join.setdefault(spec.site, []).append(name)
        exposed = scenario.exposed(name)
        if exposed:
            publish[name] = {name: exposed}
    for c in scenario.element_connections():  # an array's elements, each an attribute
        _grant(subscribe, c.dst_federate, c.src_federate, c.src_variable)
    for fed, var in scenario.recorded():
        _grant(subscribe, recorder, fed, var)
    pub_i: dict[str, list[str]] = {}
    sub_i: dict[str, list[str]] = {}
    for iname, ispec in scenario.interactions.items():
        for publisher in ispec.publishers:
            pub_i.setdefault(publisher, []).append(iname)
        for target in dict.fromkeys(t.split(".", 1)[0] for t in ispec.to):
            sub_i.setdefault(target, []).append(iname)
    rules = FederationRules(create=[coordinator], admin=[coordinator], join=join, publish=publish,
                            subscribe=subscribe, publish_interactions=pub_i, subscribe_interactions=sub_i)
    return Policy(federations={scenario.federation: rules})


def _grant(table: dict[str, Members], federate: str, class_name: str, member: str) -> None:
    members = table.setdefault(federate, {}).setdefault(class_name, [])
    if member not in members:
        members.append(member)

