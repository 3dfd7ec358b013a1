"""The local RTI of a direct federation (federation/rti/channels.py).

Routed by its plan, one LocalRTI per site, with channels between them delivering in any order that
keeps each channel first-in first-out, gives every federate the callbacks the central core
(federation/rti/execution.py) gives it; and it refuses whatever a peer sends outside the plan.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol

import pytest
from hypothesis import given, settings, strategies as st

from federation.rti import FOM, RTI
from federation.rti import callbacks as cb
from federation.rti import errors as E
from federation.rti.channels import NMR, TAR, LocalRTI, Outgoing, PlanViolation
from federation.rti.execution import FederationExecution
from federation.rti.plan import RoutingPlan, plan_of
from federation.rti.time import END_OF_TIME, LogicalTime

from .conftest import Small

ATTRS = ("a", "b", "c")
INTERACTIONS = {"Hit": ["p", "q"], "Ping": ["p"]}
X, Y, Z = 0, 1, 2  # the small federation's (conftest.py): attributes of Src
HIT, PING, PONG = 0, 1, 2  # and its interaction classes


# ------------------------------------------------------------------ random federations
@dataclass(frozen=True)
class Member:
    """One federate of a random federation: how it takes part in time, what it declares, where it runs."""

    name: str
    site: str
    lookahead: int | None  # None: not time-regulating (the recorder)
    step: int
    nmr: bool  # advances by next message requests
    constrained: bool
    latest: bool
    objects: int  # object instances it registers (of its own class, named after it)
    publishes: tuple[str, ...]  # attributes of its own class
    subscribes: tuple[tuple[str, tuple[str, ...]], ...]  # (other's class, attributes)
    sends: tuple[str, ...]  # interaction classes it publishes
    hears: tuple[str, ...]  # interaction classes it subscribes to


@dataclass(frozen=True)
class Federation:
    members: tuple[Member, ...]
    start: int  # every member's time when the plan is made
    stop: int
    seed: int  # what each federate sends at each time (with what it received)


def _subset(draw: st.DrawFn, items: tuple[str, ...], min_size: int = 0) -> tuple[str, ...]:
    return tuple(sorted(draw(st.lists(st.sampled_from(items), min_size=min_size, unique=True))))


@st.composite
def federations(draw: st.DrawFn) -> Federation:
    """2..6 federates on 1..4 sites: TAR steppers and NMR users, some latest-value, now and then one that is
    not time-constrained; random publications and subscriptions; and a constrained, non-regulating recorder
    that subscribes to everything."""
    n = draw(st.integers(2, 6))
    sites = [f"s{i}" for i in range(draw(st.integers(1, 4)))]
    classes = [f"C{i}" for i in range(n)]
    members = []
    for i in range(n):
        subscribes = tuple((c, attrs) for c in classes if c != classes[i] and draw(st.booleans())
                           for attrs in [_subset(draw, ATTRS, 1)])
        members.append(Member(
            name=f"f{i}", site=draw(st.sampled_from(sites)), lookahead=draw(st.integers(1, 5)),
            step=draw(st.integers(1, 20)), nmr=draw(st.booleans()), constrained=draw(st.integers(0, 5)) > 0,
            latest=draw(st.booleans()), objects=draw(st.integers(1, 2)), publishes=_subset(draw, ATTRS, 1),
            subscribes=subscribes, sends=_subset(draw, tuple(INTERACTIONS)), hears=_subset(draw, tuple(INTERACTIONS))))
    members.append(Member(
        name="recorder", site=draw(st.sampled_from(sites)), lookahead=None, step=draw(st.integers(1, 9)),
        nmr=draw(st.booleans()), constrained=True, latest=False, objects=0, publishes=(),
        subscribes=tuple((c, ATTRS) for c in classes), sends=(), hears=tuple(INTERACTIONS)))
    start = draw(st.sampled_from([0, 0, 3, 12]))
    return Federation(tuple(members), start, start + draw(st.integers(10, 60)), draw(st.integers(0, 10_000)))


def declare(fed: Federation) -> tuple[FederationExecution, dict[str, int], dict[str, list[int]]]:
    """The federation in a core execution, every member declared, in time management and granted `fed.start`
    (its set-up callbacks drained): where a direct federation's plan is made."""
    names = [m.name for m in fed.members if m.objects]
    fx = RTI().create_federation_execution("fx", FOM({f"C{i}": ATTRS for i in range(len(names))}, INTERACTIONS))
    handles = {m.name: fx.join(m.name) for m in fed.members}
    objects: dict[str, list[int]] = {}
    for i, m in enumerate(fed.members):
        h = handles[m.name]
        if m.publishes:
            fx.publish_object_class_attributes(h, f"C{i}", list(m.publishes))
        for c, attrs in m.subscribes:
            fx.subscribe_object_class_attributes(h, c, list(attrs))
        for c in m.sends:
            fx.publish_interaction_class(h, c)
        for c in m.hears:
            fx.subscribe_interaction_class(h, c)
    for i, m in enumerate(fed.members):
        objects[m.name] = [fx.register_object_instance(handles[m.name], f"C{i}", f"{m.name}.{k}") for k in range(m.objects)]
    for m in fed.members:
        if m.lookahead is not None:
            fx.enable_time_regulation(handles[m.name], m.lookahead)
        if m.constrained:
            fx.enable_time_constrained(handles[m.name], latest_values=m.latest)
    for h in handles.values():
        fx.time_advance_request(h, fed.start)
    for h in handles.values():
        assert fx.drain(h)[-1] == cb.TimeAdvanceGrant(fed.start)
    return fx, handles, objects


# ------------------------------------------------------------------ federates
class Services(Protocol):
    """What a federate calls: the core's services, or its site's LocalRTI."""

    def update(self, handle: int, object_handle: int, values: cb.Values, timestamp: LogicalTime) -> None: ...

    def send(self, handle: int, class_name: str, parameters: cb.Values, timestamp: LogicalTime) -> None: ...

    def request(self, handle: int, time: LogicalTime, kind: str) -> None: ...

    def resign(self, handle: int) -> None: ...


Seen = tuple[object, ...]


class Federate:
    """A federate whose every send is a function of what it received: on each grant it sends values
    derived from the sum of everything it got, stamped its time + lookahead (or later), then advances."""

    def __init__(self, fed: Federation, member: Member, handle: int, objects: list[int], services: Services) -> None:
        self.fed, self.m, self.handle, self.objects, self.rti = fed, member, handle, objects, services
        self.seen: list[Seen] = []
        self.total = 0.0
        self.time = 0
        self.newest = 0  # the latest timestamp it received
        self.done = False

    def start(self) -> None:
        self.act(self.fed.start)

    def take(self, callbacks: list[cb.Callback]) -> None:
        assert not self.done, f"{self.m.name} got {callbacks} after it resigned"
        for c in callbacks:
            if self.done:
                return  # what came in the batch of its last grant, before it resigned
            if isinstance(c, (cb.ReflectAttributeValues, cb.ReceiveInteraction)) and c.timestamp is not None:
                self.newest = max(self.newest, c.timestamp)
            if isinstance(c, cb.ReflectAttributeValues):
                self.seen.append(("reflect", c.object_handle, tuple(sorted(c.values.items())), c.timestamp, c.sender))
                self.total += sum(c.values.values())
            elif isinstance(c, cb.ReceiveInteraction):
                self.seen.append(("interaction", c.class_handle, tuple(sorted(c.parameters.items())), c.timestamp,
                                  c.sender))
                self.total += sum(c.parameters.values())
            elif isinstance(c, cb.TimeAdvanceGrant):
                if self.m.constrained:  # what a constrained federate got is never stamped after its grant
                    assert self.newest <= c.time, f"{self.m.name} granted {c.time} after a message at {self.newest}"
                self.seen.append(("grant", c.time))
                self.act(c.time)

    def act(self, t: LogicalTime) -> None:
        m = self.m
        total = self.total if m.constrained else 0.0  # what an unconstrained one gets, and when, depends on timing
        rng = random.Random(f"{self.fed.seed}:{m.name}:{t}:{total}")
        self.time = t
        if m.lookahead is not None and t < self.fed.stop:
            for _ in range(rng.randint(0, 3)):
                ts = t + m.lookahead + rng.randint(0, 3)
                value = float((int(total) * 31 + rng.randint(0, 999)) % 100_003)
                if m.sends and (not m.publishes or rng.random() < 0.4):
                    cls = rng.choice(m.sends)
                    self.rti.send(self.handle, cls, {p: value + p for p in range(len(INTERACTIONS[cls]))}, ts)
                else:
                    attrs = rng.sample(m.publishes, rng.randint(1, len(m.publishes)))
                    self.rti.update(self.handle, rng.choice(self.objects),
                                    {ATTRS.index(a): value + ATTRS.index(a) for a in attrs}, ts)
        if t >= self.fed.stop:
            self.done = True
            self.rti.resign(self.handle)
        else:
            self.rti.request(self.handle, min(t + m.step, self.fed.stop), NMR if m.nmr else TAR)


class CoreServices:
    def __init__(self, fx: FederationExecution) -> None:
        self.fx = fx

    def update(self, handle: int, object_handle: int, values: cb.Values, timestamp: LogicalTime) -> None:
        self.fx.update_attribute_values(handle, object_handle, values, timestamp)

    def send(self, handle: int, class_name: str, parameters: cb.Values, timestamp: LogicalTime) -> None:
        self.fx.send_interaction(handle, class_name, parameters, timestamp)

    def request(self, handle: int, time: LogicalTime, kind: str) -> None:
        (self.fx.next_message_request if kind == NMR else self.fx.time_advance_request)(handle, time)

    def resign(self, handle: int) -> None:
        self.fx.resign(handle)


class LocalServices:
    def __init__(self, plan: RoutingPlan, local: dict[str, LocalRTI], fom: FOM) -> None:
        self.plan, self.local, self.fom = plan, local, fom

    def _of(self, handle: int) -> LocalRTI:
        return self.local[self.plan.federates[handle].site]

    def update(self, handle: int, object_handle: int, values: cb.Values, timestamp: LogicalTime) -> None:
        self._of(handle).update(handle, object_handle, values, timestamp)

    def send(self, handle: int, class_name: str, parameters: cb.Values, timestamp: LogicalTime) -> None:
        self._of(handle).send_interaction(handle, self.fom.interaction_class(class_name).handle, parameters, timestamp)

    def request(self, handle: int, time: LogicalTime, kind: str) -> None:
        self._of(handle).request(handle, time, kind)

    def resign(self, handle: int) -> None:
        self._of(handle).resign(handle)


# ------------------------------------------------------------------ the two runs
def run_core(fed: Federation, driver_seed: int) -> dict[str, Federate]:
    """Every federate through one FederationExecution, ready federates served in a random order."""
    fx, handles, objects = declare(fed)
    services = CoreServices(fx)
    feds = {handles[m.name]: Federate(fed, m, handles[m.name], objects[m.name], services) for m in fed.members}
    for f in feds.values():
        f.start()
    driver = random.Random(driver_seed)
    while not all(f.done for f in feds.values()):
        ready = fx.take_ready()
        assert ready, "the core stalled"
        driver.shuffle(ready)
        for h in ready:
            feds[h].take(fx.drain(h))
    return {f.m.name: f for f in feds.values()}


Channels = dict[tuple[str, str], deque[Outgoing]]


def ship(local: dict[str, LocalRTI], channels: Channels, everything: bool = False) -> None:
    """What each site ships now; `everything`: what it holds for its receivers' next steps too (the shell's
    flusher does that within FLUSH_AFTER: here, once nothing else can happen)."""
    for site, rti in local.items():
        for to, out in rti.take_outgoing(everything).items():
            assert to != site and to in local, f"site {site} shipped to {to!r}"
            channels.setdefault((site, to), deque()).append(out)


def deliver(local: dict[str, LocalRTI], channels: Channels, key: tuple[str, str]) -> None:
    out = channels[key].popleft()
    local[key[1]].receive(key[0], out.updates, out.interactions, list(out.promises.items()))


class Galts:
    """Every constrained member's GALT never decreases, and nothing reaches it stamped below a GALT it had: what
    drain_below_galt relies on when it hands over what a member holds below its GALT."""

    def __init__(self, local: dict[str, LocalRTI]) -> None:
        self.local = local
        self.galt: dict[int, LogicalTime] = {}
        self.last: dict[int, int] = {}  # member -> the highest sequence number it held at the last check

    def check(self, site: str) -> None:
        """After `site` acted or received."""
        rti = self.local[site]
        for h, m in rti.members.items():
            if m.resigned or not m.constrained:
                continue
            before = self.galt.get(h, -1)
            last = self.last.get(h, 0)
            for t, _, seq, _ in m.tso:  # the local RTI numbers what it queues in order
                assert seq <= last or t >= before, f"{m.name} got a message at {t} below its GALT {before}"
            self.last[h] = max((e[2] for e in m.tso), default=last)
            galt = rti.galt(m)
            assert galt >= before, f"the GALT of {m.name} went down from {before} to {galt}"
            self.galt[h] = galt


def run_direct(fed: Federation, driver_seed: int) -> dict[str, Federate]:
    """Every site's federates through its own LocalRTI, routed by the plan of the declared federation; a pump
    delivers shipments channel by channel (first in, first out on each) while sites act in a random order."""
    fx, handles, objects = declare(fed)
    plan = plan_of(fx, {handles[m.name]: m.site for m in fed.members}, {m.site: f"{m.site}:1" for m in fed.members})
    plan = RoutingPlan.from_json(plan.to_json())  # as hosts get it
    local = {site: LocalRTI(plan, site) for site in sorted({m.site for m in fed.members})}
    services = LocalServices(plan, local, fx.fom)
    feds = {handles[m.name]: Federate(fed, m, handles[m.name], objects[m.name], services) for m in fed.members}
    driver = random.Random(driver_seed)
    starting = list(feds.values())
    driver.shuffle(starting)
    for f in starting:
        f.start()
    channels: Channels = {}
    galts = Galts(local)
    for _ in range(1_000_000):
        ship(local, channels)
        moves: list[tuple[str, str]] = [k for k, q in sorted(channels.items()) if q]
        moves += [(site, "") for site, rti in local.items() if rti.ready]
        if not moves and any(rti.held for rti in local.values()):
            ship(local, channels, everything=True)
            continue
        if not moves:
            break
        frm, to = driver.choice(moves)
        if to:
            deliver(local, channels, (frm, to))
            galts.check(to)
            continue
        ready = local[frm].take_ready()
        driver.shuffle(ready)
        for h in ready:
            feds[h].take(local[frm].drain(h))
        galts.check(frm)
    else:
        raise AssertionError("the pump never settled")
    stuck = {f.m.name: (f.time, local[f.m.site].members[f.handle].pending) for f in feds.values() if not f.done}
    assert not stuck, f"deadlock: {stuck} never reached {fed.stop}"
    for site, rti in local.items():
        assert all(rti.site_done(other) for other in local if other != site)
        for h in rti.members:
            assert rti.drain(h) == [], "a federate got callbacks after it resigned"
    return {f.m.name: f for f in feds.values()}


@settings(max_examples=200, deadline=None)
@given(federations(), st.integers(0, 10_000), st.integers(0, 10_000))
def test_every_site_split_delivers_what_the_core_delivers(fed: Federation, core_driver: int, pump: int) -> None:
    core = run_core(fed, core_driver)
    direct = run_direct(fed, pump)
    for m in fed.members:
        a, b = core[m.name], direct[m.name]
        assert a.done and b.done and a.time == b.time == fed.stop
        if m.constrained:
            assert a.seen == b.seen, f"{m.name} saw different callbacks"
        else:  # receive-order delivery is as early as its transport: only its grants are fixed
            assert [s for s in a.seen if s[0] == "grant"] == [s for s in b.seen if s[0] == "grant"]


# ------------------------------------------------------------------ cases the property test found
def chain(sites: dict[str, str]) -> tuple[FederationExecution, RoutingPlan, dict[str, int], dict[str, int]]:
    """c -> a -> b, all regulating (lookahead 1) and constrained; b does not listen to c."""
    fx = RTI().create_federation_execution("chain", FOM({"A": ["x"], "C": ["x"]}))
    h = {n: fx.join(n) for n in ("a", "b", "c")}
    fx.publish_object_class_attributes(h["a"], "A", ["x"])
    fx.publish_object_class_attributes(h["c"], "C", ["x"])
    fx.subscribe_object_class_attributes(h["a"], "C", ["x"])
    fx.subscribe_object_class_attributes(h["b"], "A", ["x"])
    obj = {"a": fx.register_object_instance(h["a"], "A"), "c": fx.register_object_instance(h["c"], "C")}
    for f in h.values():
        fx.enable_time_regulation(f, 1)
        fx.enable_time_constrained(f)
        fx.drain(f)
    plan = plan_of(fx, {h[n]: s for n, s in sites.items()}, {s: f"{s}:1" for s in sites.values()})
    return fx, plan, h, obj


def pump(local: dict[str, LocalRTI]) -> None:
    """Deliver every shipment until none is left (channels first in, first out)."""
    channels: Channels = {}
    while True:
        ship(local, channels)
        keys = [k for k, q in sorted(channels.items()) if q]
        if not keys and any(rti.held for rti in local.values()):
            ship(local, channels, everything=True)
            continue
        if not keys:
            return
        deliver(local, channels, keys[0])


@pytest.mark.parametrize("sites", [{"a": "one", "b": "one", "c": "one"}, {"a": "one", "b": "one", "c": "two"},
                                   {"a": "one", "b": "two", "c": "three"}])
def test_a_receiver_waits_for_what_its_senders_nmr_may_still_be_granted(sites: dict[str, str]) -> None:
    """a, by NMR, may be granted as early as c's next message: b, which only hears a, waits for c too, as in
    the core (whose GALT counts every regulator)."""
    fx, plan, h, obj = chain(sites)
    local = {s: LocalRTI(plan, s) for s in set(sites.values())}
    at = {n: local[s] for n, s in sites.items()}
    for rti in (fx, None):
        if rti is fx:
            fx.next_message_request(h["a"], 9)
            fx.time_advance_request(h["b"], 8)
            assert fx.drain(h["b"]) == []
            continue
        at["a"].request(h["a"], 9, NMR)
        at["b"].request(h["b"], 8, TAR)
        pump(local)
        assert at["b"].drain(h["b"]) == [], "b granted before c, which a hears, promised past 8"
    # c sends a message at 1 and moves on: a is granted at 1, and its message at 2 reaches b at 2
    fx.update_attribute_values(h["c"], obj["c"], {0: 1.0}, 1)
    fx.time_advance_request(h["c"], 20)
    fx.update_attribute_values(h["a"], obj["a"], {0: 2.0}, 2)
    at["c"].update(h["c"], obj["c"], {0: 1.0}, 1)
    at["c"].request(h["c"], 20, TAR)
    pump(local)
    assert at["a"].drain(h["a"]) == fx.drain(h["a"]) == [cb.ReflectAttributeValues(obj["c"], {0: 1.0}, 1, "c"),
                                                         cb.TimeAdvanceGrant(1)]
    at["a"].update(h["a"], obj["a"], {0: 2.0}, 2)
    fx.time_advance_request(h["a"], 30)
    at["a"].request(h["a"], 30, TAR)
    pump(local)
    assert at["b"].drain(h["b"]) == fx.drain(h["b"]) == [cb.ReflectAttributeValues(obj["a"], {0: 2.0}, 2, "a"),
                                                         cb.TimeAdvanceGrant(8)]


def test_nmr_users_in_a_cycle_across_sites_are_granted_as_the_core_grants_them() -> None:
    """a and b (site one) and c (site two) each hear the others and ask for their next message by 100: nothing
    is sent, so the core grants each 100; the sites get there by promises alone (and did not, when a promise
    counted a local NMR user's time + lookahead as the lowest it could still send)."""
    fx = RTI().create_federation_execution("ring", FOM({n: ["x"] for n in "abc"}))
    h = {n: fx.join(n) for n in "abc"}
    for n in "abc":
        fx.publish_object_class_attributes(h[n], n, ["x"])
        for other in "abc".replace(n, ""):
            fx.subscribe_object_class_attributes(h[n], other, ["x"])
        fx.register_object_instance(h[n], n)
    for n in "abc":
        fx.enable_time_regulation(h[n], 1)
        fx.enable_time_constrained(h[n])
        fx.drain(h[n])
    plan = plan_of(fx, {h["a"]: "one", h["b"]: "one", h["c"]: "two"}, {"one": "one:1", "two": "two:1"})
    local = {s: LocalRTI(plan, s) for s in ("one", "two")}
    for n in "abc":
        fx.next_message_request(h[n], 100)
        local["two" if n == "c" else "one"].request(h[n], 100, NMR)
    pump(local)
    for n in "abc":
        assert local["two" if n == "c" else "one"].drain(h[n]) == fx.drain(h[n]) == [cb.TimeAdvanceGrant(100)]


def test_a_resigned_member_is_sent_nothing_more(small: Small) -> None:
    plan = plan_of(small.fx, small.sites, {})
    a, b = LocalRTI(plan, "A"), LocalRTI(plan, "B")
    b.resign(small.dst)
    a.update(small.src, small.src_o, {0: 1.0})  # receive order
    a.update(small.src, small.src_o, {0: 2.0}, 5)
    b.receive("A", *shipment(a, "B"))
    assert not b.ready and b.drain(small.dst) == []
    assert b.members[small.dst].received == 0 and b.members[small.dst].tso == []
    assert shipment(b, "A")[2] == [(small.dst, END_OF_TIME)]


def test_one_senders_interaction_and_update_at_one_time_keep_their_order_across_sites(small: Small) -> None:
    plan = plan_of(small.fx, small.sites, {})
    a, b = LocalRTI(plan, "A"), LocalRTI(plan, "B")
    small.fx.send_interaction(small.src, "Ping", {0: 1.0}, 4)
    small.fx.update_attribute_values(small.src, small.src_o, {0: 2.0}, 4)
    a.send_interaction(small.src, PING, {0: 1.0}, 4)
    a.update(small.src, small.src_o, {0: 2.0}, 4)
    small.fx.time_advance_request(small.lone, 100)  # the core waits for every regulator
    small.fx.time_advance_request(small.src, 10)
    small.fx.time_advance_request(small.dst, 5)
    a.request(small.src, 10)
    b.request(small.dst, 5)
    b.receive("A", *shipment(a, "B"))
    assert b.drain(small.dst) == small.fx.drain(small.dst)


def test_what_a_member_holds_below_its_galt_is_handed_over_after_a_failure(small: Small) -> None:
    plan = plan_of(small.fx, small.sites, {})
    a, b = LocalRTI(plan, "A"), LocalRTI(plan, "B")
    a.update(small.src, small.src_o, {X: 1.0}, 2)
    a.update(small.src, small.src_o, {X: 3.0, Y: 4.0}, 8)
    a.request(small.src, 5)  # src, waiting for dst, promises 5 + 2
    b.request(small.dst, 9)
    b.receive("A", *shipment(a, "B"))
    assert b.drain(small.dst) == []
    assert b.drain_below_galt(small.dst) == ([cb.ReflectAttributeValues(small.src_o, {X: 1.0}, 2, "src")], 7)
    # an NMR user's grant depends on the messages it holds: none are handed over
    a.request(small.peer, 20, NMR)
    assert a.drain(small.peer) == [] and a.drain_below_galt(small.peer) == ([], None)
    assert [e[0] for e in a.members[small.peer].tso] == [8]


# ------------------------------------------------------------------ refusals


def shipment(rti: LocalRTI, site: str) -> tuple[list[tuple[int, int, cb.Values, LogicalTime | None]],
                                                list[tuple[int, int, cb.Values, LogicalTime | None]],
                                                list[tuple[int, LogicalTime]]]:
    """What `rti` ships `site`, as receive takes it."""
    out = rti.take_outgoing(everything=True).pop(site, Outgoing())
    return out.updates, out.interactions, list(out.promises.items())


def at_b(small: Small) -> LocalRTI:
    return LocalRTI(plan_of(small.fx, small.sites, {}), "B")


Refusal = Callable[[Small, LocalRTI], None]


@pytest.mark.parametrize(("send", "says"), [
    (lambda s, b: b.receive("A", [(s.src, s.dst_o, {X: 1.0}, 5)], [], []),
     "federate 'src' of site 'A' sent an update of object 2, which the routing plan does not give it"),
    (lambda s, b: b.receive("A", [(s.src, 99, {X: 1.0}, 5)], [], []),
     "federate 'src' of site 'A' sent an update of object 99"),
    (lambda s, b: b.receive("A", [(s.src, s.src_o, {X: 1.0, Y: 2.0}, 5)], [], []),
     "federate 'src' of site 'A' sent attribute(s) [1] of object 1 to site 'B', outside the routing plan"),
    (lambda s, b: b.receive("A", [], [(s.src, PONG, {0: 1.0}, 5, 0)], []),
     "federate 'src' of site 'A' sent interaction class 2 to site 'B', outside the routing plan"),
    (lambda s, b: b.receive("A", [], [(s.src, HIT, {0: 1.0}, 5, 0)], []),  # it publishes Hit, nobody at B hears it
     "federate 'src' of site 'A' sent interaction class 0 to site 'B', outside the routing plan"),
    (lambda s, b: b.receive("C", [], [], [(s.lone, 10)]),
     "federate 'lone' of site 'C' sent a promise to site 'B', which the routing plan gives no message from it"),
    (lambda s, b: b.receive("A", [], [], [(s.peer, 10)]),  # not regulating, and sends nothing to B
     "federate 'peer' of site 'A' sent a promise to site 'B'"),
    (lambda s, b: (b.receive("A", [], [], [(s.src, 10)]), b.receive("A", [], [], [(s.src, 9)])),
     "federate 'src' of site 'A' took back its promise: 9 after 10"),
    (lambda s, b: b.receive("A", [(s.src, s.src_o, {X: 1.0}, 1)], [], []),  # src promised 0 + lookahead 2 at start
     "federate 'src' of site 'A' sent timestamp 1 below its promise 2"),
    (lambda s, b: (b.receive("A", [], [], [(s.src, 10)]), b.receive("A", [], [(s.src, PING, {0: 1.0}, 9, 0)], [])),
     "federate 'src' of site 'A' sent timestamp 9 below its promise 10"),
    (lambda s, b: b.receive("C", [(s.src, s.src_o, {X: 1.0}, 5)], [], []),
     "site 'C' sent a message as federate handle 1, which is 'src' of site 'A'"),
    (lambda s, b: b.receive("C", [], [], [(s.src, 10)]), "which is 'src' of site 'A'"),
    (lambda s, b: b.receive("A", [], [(99, PING, {0: 1.0}, 5, 0)], []),
     "site 'A' sent a message as federate handle 99, which is not in the routing plan"),
])
def test_receive_refuses_what_the_plan_does_not_allow_naming_the_sender(small: Small, send: Refusal,
                                                                        says: str) -> None:
    b = at_b(small)
    with pytest.raises(PlanViolation) as caught:
        send(small, b)
    assert says in str(caught.value)
    assert b.drain(small.dst) == [] and b.members[small.dst].tso == []


def test_receive_takes_what_the_plan_allows(small: Small) -> None:
    b = at_b(small)
    b.receive("A", [(small.src, small.src_o, {X: 1.0}, 2)], [(small.src, PING, {0: 5.0}, 3, 1)], [(small.src, 10)])
    b.receive("A", [(small.src, small.src_o, {X: 2.0}, None)], [], [(small.src, 10)])  # the same promise again
    b.request(small.dst, 8)
    assert b.drain(small.dst) == [cb.ReflectAttributeValues(small.src_o, {X: 2.0}, None, "src"),
                                  cb.ReflectAttributeValues(small.src_o, {X: 1.0}, 2, "src"),
                                  cb.ReceiveInteraction(PING, {0: 5.0}, 3, "src"), cb.TimeAdvanceGrant(8)]
    assert b.site_done("C") and not b.site_done("A")
    b.receive("A", [], [], [(small.src, END_OF_TIME)])
    assert b.site_done("A")


def both(small: Small) -> tuple[FederationExecution, LocalRTI]:
    return small.fx, LocalRTI(plan_of(small.fx, small.sites, {}), "A")


@pytest.mark.parametrize(("core", "local", "error"), [
    (lambda fx, s: fx.update_attribute_values(s.src, s.dst_o, {X: 1.0}, 5),
     lambda a, s: a.update(s.src, s.dst_o, {X: 1.0}, 5), E.AttributeNotOwned),
    (lambda fx, s: fx.update_attribute_values(s.src, s.src_o, {Z: 1.0}, 5),
     lambda a, s: a.update(s.src, s.src_o, {Z: 1.0}, 5), E.AttributeNotPublished),
    (lambda fx, s: fx.send_interaction(s.src, "Pong", {0: 1.0}, 5),
     lambda a, s: a.send_interaction(s.src, PONG, {0: 1.0}, 5), E.InteractionClassNotPublished),
    (lambda fx, s: fx.update_attribute_values(s.src, s.src_o, {X: 1.0}, 1),  # below 0 + lookahead 2
     lambda a, s: a.update(s.src, s.src_o, {X: 1.0}, 1), E.InvalidLogicalTime),
    (lambda fx, s: fx.send_interaction(s.src, "Ping", {0: 1.0}, 1),
     lambda a, s: a.send_interaction(s.src, PING, {0: 1.0}, 1), E.InvalidLogicalTime),
    (lambda fx, s: (fx.time_advance_request(s.src, 10), fx.update_attribute_values(s.src, s.src_o, {X: 1.0}, 11)),
     lambda a, s: (a.request(s.src, 10), a.update(s.src, s.src_o, {X: 1.0}, 11)), E.InvalidLogicalTime),
    (lambda fx, s: (fx.time_advance_request(s.src, 10), fx.time_advance_request(s.src, 12)),
     lambda a, s: (a.request(s.src, 10), a.request(s.src, 12)), E.TimeAdvanceAlreadyInProgress),
    (lambda fx, s: fx.time_advance_request(s.src, END_OF_TIME + 1),
     lambda a, s: a.request(s.src, END_OF_TIME + 1), E.InvalidLogicalTime),
    (lambda fx, s: fx.time_advance_request(99, 3),
     lambda a, s: a.request(s.dst, 3), E.FederateNotExecutionMember),  # dst runs at B
])
def test_sends_and_requests_outside_the_plan_are_refused_as_the_core_refuses_them(
        small: Small, core: Callable[[FederationExecution, Small], object], local: Callable[[LocalRTI, Small], object],
        error: type[E.RTIError]) -> None:
    fx, a = both(small)
    with pytest.raises(error):
        core(fx, small)
    with pytest.raises(error):
        local(a, small)
    assert all(out.updates == [] and out.interactions == [] for out in a.take_outgoing().values())


def test_a_send_at_time_plus_lookahead_goes_out(small: Small) -> None:
    _, a = both(small)
    a.update(small.src, small.src_o, {X: 1.0, Y: 2.0}, 2)
    a.send_interaction(small.src, PING, {0: 3.0}, 2)
    a.send_interaction(small.src, HIT, {0: 4.0}, 2)  # nobody hears it: it goes nowhere
    updates, interactions, promises = shipment(a, "B")
    assert updates == [(small.src, small.src_o, {X: 1.0}, 2)]  # B hears x only
    assert interactions == [(small.src, PING, {0: 3.0}, 2, 1)] and promises == []
    a.request(small.src, 10)  # src waits for dst, and sends nothing below 12 now: peer, which hears only src, passes 3
    assert shipment(a, "B")[2] == [(small.src, 12)]
    a.request(small.peer, 3)
    assert a.drain(small.peer) == [cb.ReflectAttributeValues(small.src_o, {Y: 2.0}, 2, "src"),
                                   cb.ReceiveInteraction(PING, {0: 3.0}, 2, "src"), cb.TimeAdvanceGrant(3)]
