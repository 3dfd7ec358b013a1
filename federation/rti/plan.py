"""The routing plan of a direct federation: who sends which attributes and interactions to whom.

The RTI computes it once every member has declared (federation/server), from its execution's
publications, subscriptions and registered objects, signs it, and hands it to every host. Each host
then routes exactly by it (federation/rti/channels.py) and refuses anything outside it. Pure: plain
data in, canonical JSON bytes out (the same plan is the same bytes, so its digest names it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from .errors import RTIError
from .execution import FederationExecution
from .time import LogicalTime

PLAN_VERSION = 1


class PlanError(RTIError):
    """A routing plan that cannot be read, or a message outside it."""


@dataclass(frozen=True)
class PlanFederate:
    """A member as the plan fixes it: where it runs and how it takes part in time management."""

    handle: int
    name: str
    site: str
    time: LogicalTime
    lookahead: LogicalTime | None  # None: not time-regulating (it sends nothing in timestamp order)
    constrained: bool
    latest_values: bool


@dataclass(frozen=True)
class PlanObject:
    """A registered object instance: its owner, its class, and who receives which of its attributes."""

    handle: int
    owner: int
    class_handle: int
    attributes: frozenset[int]  # what its owner publishes: all it may update
    routes: tuple[tuple[int, frozenset[int]], ...]  # (subscriber, attributes it receives), by subscriber


@dataclass(frozen=True)
class PlanInteraction:
    class_handle: int
    publishers: frozenset[int]
    subscribers: tuple[int, ...]


@dataclass(frozen=True)
class RoutingPlan:
    """Everything a host needs to route and grant on its own, the same at every host."""

    federation: str
    federates: Mapping[int, PlanFederate]
    objects: Mapping[int, PlanObject]
    interactions: Mapping[int, PlanInteraction]
    endpoints: Mapping[str, str]  # site -> HOST:PORT of its Peer service; "" when it accepts no connection
    relay_sites: frozenset[str] = field(default_factory=frozenset)

    # ------------------------------------------------------------ derived
    @cached_property
    def receivers(self) -> Mapping[int, frozenset[int]]:
        """Sender -> every federate it may send to (objects it owns, interactions it publishes)."""
        out: dict[int, set[int]] = {h: set() for h in self.federates}
        for obj in self.objects.values():
            out[obj.owner].update(sub for sub, _ in obj.routes)
        for inter in self.interactions.values():
            for pub in inter.publishers:
                out[pub].update(s for s in inter.subscribers if s != pub)
        return {h: frozenset(s) for h, s in out.items()}

    @cached_property
    def senders(self) -> Mapping[int, frozenset[int]]:
        """Receiver -> the time-regulating federates whose messages it must wait for."""
        out: dict[int, set[int]] = {h: set() for h in self.federates}
        for sender, receivers in self.receivers.items():
            if self.federates[sender].lookahead is not None:
                for r in receivers:
                    out[r].add(sender)
        return {h: frozenset(s) for h, s in out.items()}

    @cached_property
    def channels(self) -> frozenset[tuple[str, str]]:
        """Every (sending site, receiving site) pair the plan has a channel for."""
        fed = self.federates
        return frozenset((fed[s].site, fed[r].site) for s, rs in self.receivers.items() for r in rs
                         if fed[s].site != fed[r].site)

    def out_sites(self, sender: int) -> frozenset[str]:
        """The other sites `sender`'s messages and promises go to."""
        own = self.federates[sender].site
        return frozenset(self.federates[r].site for r in self.receivers[sender]) - {own}

    def on_site(self, site: str) -> list[int]:
        return sorted(h for h, f in self.federates.items() if f.site == site)

    def relayed(self, sender_site: str, receiver_site: str) -> bool:
        """Whether the channel between two sites goes through the RTI: one of them accepts no connection."""
        return bool({sender_site, receiver_site} & self.relay_sites) or not self.endpoints.get(receiver_site)

    # ------------------------------------------------------------ bytes
    def to_json(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces; the same plan is always the same bytes."""
        doc = {
            "version": PLAN_VERSION,
            "federation": self.federation,
            "federates": {str(h): {"name": f.name, "site": f.site, "time": f.time, "lookahead": f.lookahead,
                                   "constrained": f.constrained, "latest_values": f.latest_values}
                          for h, f in self.federates.items()},
            "objects": {str(h): {"owner": o.owner, "class": o.class_handle, "attributes": sorted(o.attributes),
                                 "routes": [[sub, sorted(attrs)] for sub, attrs in o.routes]}
                        for h, o in self.objects.items()},
            "interactions": {str(h): {"publishers": sorted(i.publishers), "subscribers": list(i.subscribers)}
                             for h, i in self.interactions.items()},
            "endpoints": dict(self.endpoints),
            "relay_sites": sorted(self.relay_sites),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()

    @classmethod
    def from_json(cls, raw: bytes) -> RoutingPlan:
        """PlanError naming what is wrong when `raw` is not a plan of this version."""
        try:
            doc = json.loads(raw)
            if doc.get("version") != PLAN_VERSION:
                raise PlanError(f"routing plan version {doc.get('version')!r} is not {PLAN_VERSION}")
            federates = {int(h): PlanFederate(int(h), str(f["name"]), str(f["site"]), int(f["time"]),
                                              None if f["lookahead"] is None else int(f["lookahead"]),
                                              bool(f["constrained"]), bool(f["latest_values"]))
                         for h, f in doc["federates"].items()}
            objects = {int(h): PlanObject(int(h), int(o["owner"]), int(o["class"]),
                                          frozenset(int(a) for a in o["attributes"]),
                                          tuple((int(s), frozenset(int(a) for a in attrs)) for s, attrs in o["routes"]))
                       for h, o in doc["objects"].items()}
            interactions = {int(h): PlanInteraction(int(h), frozenset(int(p) for p in i["publishers"]),
                                                    tuple(int(s) for s in i["subscribers"]))
                            for h, i in doc["interactions"].items()}
            plan = cls(str(doc["federation"]), federates, objects, interactions,
                       {str(k): str(v) for k, v in doc["endpoints"].items()}, frozenset(doc["relay_sites"]))
        except PlanError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PlanError(f"routing plan is malformed: {type(exc).__name__}: {exc}") from None
        known = set(federates)
        for obj in objects.values():
            if obj.owner not in known or any(s not in known for s, _ in obj.routes):
                raise PlanError(f"routing plan routes object {obj.handle} to or from an unknown federate")
        for inter in interactions.values():
            if not (inter.publishers | set(inter.subscribers)) <= known:
                raise PlanError(f"routing plan routes interaction class {inter.class_handle} to or from an unknown federate")
        return plan


def plan_of(execution: FederationExecution, sites: Mapping[int, str], endpoints: Mapping[str, str],
            relay_sites: frozenset[str] = frozenset()) -> RoutingPlan:
    """The plan of `execution` as it stands: every member's site (`sites`, by handle), every object's
    subscribers with the attributes of it they receive, every interaction class's publishers and subscribers."""
    members = sorted(execution.federates, key=lambda f: f.handle)
    unplaced = [f.name for f in members if f.handle not in sites]
    if unplaced:  # routed to site "", its messages would go to no host
        raise PlanError(f"routing plan: no site for federate(s) {unplaced}")
    federates = {f.handle: PlanFederate(f.handle, f.name, sites[f.handle], f.time, f.lookahead,
                                        f.constrained, f.latest_values) for f in members}
    by_name = {f.name: f for f in members}
    objects: dict[int, PlanObject] = {}
    for obj in execution.objects:
        owner = by_name[obj.owner]
        published = owner.published.get(obj.class_handle, frozenset())
        routes = tuple((f.handle, attrs) for f in members if f is not owner
                       for attrs in [f.subscribed.get(obj.class_handle, frozenset()) & published] if attrs)
        objects[obj.handle] = PlanObject(obj.handle, owner.handle, obj.class_handle, published, routes)
    classes = {c for f in members for c in f.published_interactions | f.subscribed_interactions}
    interactions = {c: PlanInteraction(c, frozenset(f.handle for f in members if c in f.published_interactions),
                                       tuple(f.handle for f in members if c in f.subscribed_interactions))
                    for c in sorted(classes)}
    return RoutingPlan(execution.name, federates, objects, interactions, dict(endpoints), relay_sites)


def describe_site(plan: RoutingPlan, site: str) -> str:
    names = [plan.federates[h].name for h in plan.on_site(site)]
    return f"site {site!r} ({', '.join(names) or 'no federate'})"


__all__: list[Any] = ["PLAN_VERSION", "PlanError", "PlanFederate", "PlanInteraction", "PlanObject", "RoutingPlan",
                      "describe_site", "plan_of"]
