"""The local RTI component of a direct federation: one host's federates, granted from channel promises.

With direct routing no central RTI grants time. Every time-regulating sender stamps what it sends to
another site with a promise: nothing more from it on that channel below time T (its granted or
requested time plus its lookahead). A host grants its federate a time advance once every sender it
listens to (the routing plan says which) has promised past it: Chandy-Misra-Bryant with the
scenario's positive lookaheads, no central round trip. Messages are released in the core's order
(timestamp, sender name, sender sequence), so every routing delivers the same callbacks as the
embedded core (federation/rti/execution.py, whose rules this mirrors for the host's own members).

Pure and single-threaded like the core: the host's shell (federation/transport/direct.py) calls it
under one lock and ships what `take_outgoing` returns.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from . import errors as E
from .callbacks import Callback, ReceiveInteraction, ReflectAttributeValues, TimeAdvanceGrant, Values, merge_latest_values
from .execution import output_bound
from .plan import PlanError, RoutingPlan
from .time import END_OF_TIME, LogicalTime

TAR, NMR = "TAR", "NMR"


class PlanViolation(PlanError):
    """A peer sent something the routing plan does not allow (or broke a promise): it names the sender."""


@dataclass
class Outgoing:
    """What this host sends one site, until shipped: updates, interactions, and the senders' new promises."""

    updates: list[tuple[int, int, Values, LogicalTime | None]] = field(default_factory=list)  # sender, object, values, ts
    # sender, class, parameters, timestamp, and how many of `updates` were sent before it (their order is kept)
    interactions: list[tuple[int, int, Values, LogicalTime | None, int]] = field(default_factory=list)
    promises: dict[int, LogicalTime] = field(default_factory=dict)


@dataclass
class _Member:
    """One of this host's federates, as the core's FederateState keeps it."""

    handle: int
    name: str
    time: LogicalTime
    lookahead: LogicalTime | None
    constrained: bool
    latest_values: bool
    senders: tuple[int, ...]
    out_sites: tuple[str, ...]
    pending: tuple[str, LogicalTime] | None = None
    tso: list[tuple[LogicalTime, str, int, Callback]] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    resigned: bool = False
    sent: int = 0  # messages it sent
    received: int = 0  # messages delivered to it


class LocalRTI:
    """Time and data management for the federates of `site`, by `plan`."""

    def __init__(self, plan: RoutingPlan, site: str) -> None:
        self.plan, self.site = plan, site
        fed = plan.federates
        self.members: dict[int, _Member] = {
            h: _Member(h, fed[h].name, fed[h].time, fed[h].lookahead, fed[h].constrained, fed[h].latest_values,
                       tuple(sorted(plan.senders[h])), tuple(sorted(plan.out_sites(h))))
            for h in plan.on_site(site)}
        # The promise of every remote sender some member listens to; at first what the plan's time allows.
        self.promises: dict[int, LogicalTime] = {}
        for m in self.members.values():
            for s in m.senders:
                if s not in self.members:
                    la = fed[s].lookahead
                    assert la is not None  # senders regulate (RoutingPlan.senders)
                    self.promises[s] = fed[s].time + la
        self._sent_promise = {h: m.time + m.lookahead for h, m in self.members.items() if m.lookahead is not None}
        self.ready: dict[int, None] = {}
        self.limit = END_OF_TIME  # no grant beyond it (a failed federation drains up to its failure's time)
        self._out: dict[str, Outgoing] = {}
        self._due: set[str] = set()  # sites whose batch must leave now (see _unlocks)
        # The last promise of each (sender here, receiving site) that left, and the time grid of every receiver
        # there that regulates: a stepped federate requests its time + k * lookahead (its step).
        self._shipped: dict[tuple[int, str], LogicalTime] = {}
        # None: always due; []: never (see take_outgoing)
        self._grids: dict[tuple[int, str], list[tuple[LogicalTime, LogicalTime]] | None] = {}
        for h, m in self.members.items():
            for st in m.out_sites:
                self._shipped[(h, st)] = self._sent_promise.get(h, END_OF_TIME)
                receivers = [fed[r] for r in plan.receivers[h] if fed[r].site == st and fed[r].constrained]
                if all(fed[x].lookahead is None for x in plan.on_site(st)):
                    # A site that regulates nothing (the recorder's) is on nobody's critical path: what goes
                    # there waits for the shell's periodic flush, one message per FLUSH_AFTER, not per step.
                    self._grids[(h, st)] = []
                elif any(r.lookahead is None or r.lookahead <= 0 for r in receivers):
                    self._grids[(h, st)] = None  # a receiver with no known schedule: everything goes at once
                else:
                    self._grids[(h, st)] = [(r.time, r.lookahead) for r in receivers if r.lookahead is not None]
        self._seq = 0
        # Routes: for each object, the members here that receive it and, for objects owned here, the other sites.
        self._local_routes: dict[int, list[tuple[_Member, frozenset[int]]]] = {}
        self._site_attrs: dict[int, list[tuple[str, frozenset[int]]]] = {}
        for obj in plan.objects.values():
            self._local_routes[obj.handle] = [(self.members[s], a) for s, a in obj.routes if s in self.members]
            if obj.owner in self.members:
                by_site: dict[str, frozenset[int]] = {}
                for s, a in obj.routes:
                    st = fed[s].site
                    if st != site:
                        by_site[st] = by_site.get(st, frozenset()) | a
                self._site_attrs[obj.handle] = sorted(by_site.items())
        self._inter_local = {c: [self.members[s] for s in i.subscribers if s in self.members]
                             for c, i in plan.interactions.items()}
        self._inter_sites = {c: sorted({fed[s].site for s in i.subscribers} - {site}) for c, i in plan.interactions.items()}
        # Sender here -> the regulating members here it sends to (whose outputs its output bounds: _outputs).
        self._local_receivers = {h: [r for r in sorted(plan.receivers[h]) if r in self.members
                                     and self.members[r].lookahead is not None] for h in self.members}

    # ------------------------------------------------------------ lookup
    def _member(self, handle: int) -> _Member:
        m = self.members.get(handle)
        if m is None or m.resigned:
            raise E.FederateNotExecutionMember(f"federate handle {handle} is not joined at site {self.site!r}")
        return m

    def _outgoing(self, site: str) -> Outgoing:
        out = self._out.get(site)
        if out is None:
            out = self._out[site] = Outgoing()
        return out

    def take_outgoing(self, everything: bool = False) -> dict[str, Outgoing]:
        """What must leave now, by receiving site: every batch whose promises let a receiver there advance
        (`everything`: all that is queued). A stepped receiver needs its senders' promises only when they pass
        its next step; until then what it is sent waits here, so a sender stepping five times faster than its
        receiver sends it one message per receiver step, not five. `held` says whether any batch waits.
        """
        if everything:
            out, self._out = self._out, {}
        else:
            out = {site: self._out.pop(site) for site in self._due if site in self._out}
        self._due.clear()
        for site, batch in out.items():
            for h, p in batch.promises.items():
                self._shipped[(h, site)] = p
        return out

    @property
    def held(self) -> bool:
        """Whether batches wait for a receiver's next step (the shell ships them after a short while anyway,
        for receivers that do not keep to their step)."""
        return bool(self._out)

    def _unlocks(self, sender: int, site: str, promise: LogicalTime) -> bool:
        """Whether `promise` lets some receiver of `sender` at `site` take a step the last shipped one did not."""
        grids = self._grids[(sender, site)]
        if grids is None:
            return True
        shipped = self._shipped[(sender, site)]
        for t0, step in grids:
            if t0 + -(-(shipped - t0) // step) * step < promise:  # its first grid point at or after `shipped`
                return True
        return False

    @property
    def held_messages(self) -> int:
        """Timestamped messages held here for members, not granted yet."""
        return sum(len(m.tso) for m in self.members.values())

    def take_ready(self) -> list[int]:
        ready = list(self.ready)
        self.ready.clear()
        return ready

    def drain(self, handle: int) -> list[Callback]:
        m = self.members[handle]
        out, m.callbacks = m.callbacks, []
        self.ready.pop(handle, None)
        return out

    # ------------------------------------------------------------ sending
    def _send_time(self, m: _Member, timestamp: LogicalTime | None) -> LogicalTime | None:
        """The timestamp a send travels in timestamp order at (None: receive order), as the core checks it."""
        if timestamp is None or m.lookahead is None:
            return None
        bound = self._bound(m)
        if timestamp < bound:
            raise E.InvalidLogicalTime(f"{m.name!r} sent timestamp {timestamp} below its time + lookahead ({bound})")
        return timestamp

    def update(self, handle: int, object_handle: int, values: Values, timestamp: LogicalTime | None = None) -> None:
        """Update attribute values: to this site's subscribers at once, to other sites with the next shipment."""
        m = self._member(handle)
        obj = self.plan.objects.get(object_handle)
        if obj is None or obj.owner != handle:
            raise E.AttributeNotOwned(f"{m.name!r} does not own object instance {object_handle} (routing plan)")
        if not obj.attributes.issuperset(values):
            raise E.AttributeNotPublished(
                f"{m.name!r} does not publish attribute(s) {sorted(set(values) - obj.attributes)} of object {object_handle}")
        tso = self._send_time(m, timestamp)
        m.sent += 1
        seq = self._next()
        shared: ReflectAttributeValues | None = None
        for sub, attrs in self._local_routes[object_handle]:
            if attrs.issuperset(values):
                if shared is None:
                    shared = ReflectAttributeValues(object_handle, dict(values), timestamp, m.name)
                self._deliver(sub, shared, tso, m.name, seq)
            else:
                selected = {a: v for a, v in values.items() if a in attrs}
                if selected:
                    self._deliver(sub, ReflectAttributeValues(object_handle, selected, timestamp, m.name), tso, m.name, seq)
        for site, attrs in self._site_attrs[object_handle]:
            # A copy, as the core makes: the caller may reuse its dict before this leaves.
            shipped = dict(values) if attrs.issuperset(values) else {a: v for a, v in values.items() if a in attrs}
            if shipped:
                self._outgoing(site).updates.append((handle, object_handle, shipped, timestamp))

    def send_interaction(self, handle: int, class_handle: int, parameters: Values, timestamp: LogicalTime | None = None) -> None:
        m = self._member(handle)
        inter = self.plan.interactions.get(class_handle)
        if inter is None or handle not in inter.publishers:
            raise E.InteractionClassNotPublished(f"{m.name!r} does not publish interaction class {class_handle} (routing plan)")
        tso = self._send_time(m, timestamp)
        m.sent += 1
        seq = self._next()
        shared: ReceiveInteraction | None = None
        for sub in self._inter_local[class_handle]:
            if sub is not m:
                if shared is None:
                    shared = ReceiveInteraction(class_handle, dict(parameters), timestamp, m.name)
                self._deliver(sub, shared, tso, m.name, seq)
        for site in self._inter_sites[class_handle]:
            out = self._outgoing(site)
            out.interactions.append((handle, class_handle, dict(parameters), timestamp, len(out.updates)))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _deliver(self, m: _Member, cb: Callback, tso: LogicalTime | None, sender: str, seq: int) -> None:
        if m.resigned:  # as the core drops a resigned federate's subscriptions: nobody would ever drain it
            return
        m.received += 1
        if tso is None or not m.constrained:
            m.callbacks.append(cb)
            self.ready[m.handle] = None
            return
        if tso < m.time:  # a sender broke its promise: the plan's peers are checked before this
            raise PlanViolation(f"{sender!r} sent timestamp {tso} into the past of {m.name!r} (at {m.time})")
        heapq.heappush(m.tso, (tso, sender, seq, cb))

    # ------------------------------------------------------------ receiving
    def receive(self, from_site: str, updates: list[tuple[int, int, Values, LogicalTime | None]],
                interactions: list[tuple[int, int, Values, LogicalTime | None, int]],
                promises: list[tuple[int, LogicalTime]]) -> None:
        """Apply one channel message from `from_site`, its updates and interactions in the order they were sent
        (an interaction's last field: how many of the updates came before it); PlanViolation naming the sender
        for anything outside the plan."""
        at = 0
        for item in interactions:
            while at < min(item[4], len(updates)):
                self._reflect(from_site, *updates[at])
                at += 1
            self._interaction(from_site, *item[:4])
        for update in updates[at:]:
            self._reflect(from_site, *update)
        for sender, promise in promises:
            name = self._peer(from_site, sender)
            before = self.promises.get(sender)
            if before is None:
                raise PlanViolation(f"federate {name!r} of site {from_site!r} sent a promise to site {self.site!r}, "
                                    "which the routing plan gives no message from it")
            if promise < before:
                raise PlanViolation(f"federate {name!r} of site {from_site!r} took back its promise: {promise} after "
                                    f"{before}")
            self.promises[sender] = promise
        self._grant_ready()

    def _reflect(self, from_site: str, sender: int, object_handle: int, values: Values,
                 timestamp: LogicalTime | None) -> None:
        name = self._peer(from_site, sender)
        obj = self.plan.objects.get(object_handle)
        if obj is None or obj.owner != sender:
            raise PlanViolation(f"federate {name!r} of site {from_site!r} sent an update of object {object_handle}, "
                                "which the routing plan does not give it")
        routes = self._local_routes[object_handle]
        wanted = frozenset().union(*(a for _, a in routes)) if routes else frozenset()
        if not wanted.issuperset(values):
            raise PlanViolation(f"federate {name!r} of site {from_site!r} sent attribute(s) "
                                f"{sorted(set(values) - wanted)} of object {object_handle} to site {self.site!r}, "
                                "outside the routing plan")
        tso = self._check_stamp(name, from_site, sender, timestamp)
        seq = self._next()
        shared = None
        for sub, attrs in routes:
            if attrs.issuperset(values):
                if shared is None:
                    shared = ReflectAttributeValues(object_handle, values, timestamp, name)
                self._deliver(sub, shared, tso, name, seq)
            else:
                selected = {a: v for a, v in values.items() if a in attrs}
                if selected:
                    self._deliver(sub, ReflectAttributeValues(object_handle, selected, timestamp, name), tso, name, seq)

    def _interaction(self, from_site: str, sender: int, class_handle: int, parameters: Values,
                     timestamp: LogicalTime | None) -> None:
        name = self._peer(from_site, sender)
        inter = self.plan.interactions.get(class_handle)
        local = self._inter_local.get(class_handle)
        if inter is None or sender not in inter.publishers or not local:
            raise PlanViolation(f"federate {name!r} of site {from_site!r} sent interaction class {class_handle} to "
                                f"site {self.site!r}, outside the routing plan")
        tso = self._check_stamp(name, from_site, sender, timestamp)
        seq = self._next()
        received = ReceiveInteraction(class_handle, parameters, timestamp, name)
        for sub in local:
            self._deliver(sub, received, tso, name, seq)

    def _peer(self, from_site: str, sender: int) -> str:
        f = self.plan.federates.get(sender)
        if f is None or f.site != from_site:
            raise PlanViolation(f"site {from_site!r} sent a message as federate handle {sender}, "
                                f"which is {'not in the routing plan' if f is None else f'{f.name!r} of site {f.site!r}'}")
        return f.name

    def _check_stamp(self, name: str, from_site: str, sender: int, timestamp: LogicalTime | None) -> LogicalTime | None:
        if timestamp is None or self.plan.federates[sender].lookahead is None:
            return None
        promise = self.promises.get(sender)
        if promise is not None and timestamp < promise:
            raise PlanViolation(f"federate {name!r} of site {from_site!r} sent timestamp {timestamp} below its "
                                f"promise {promise}")
        return timestamp

    def site_done(self, site: str) -> bool:
        """Whether every sender of `site` that this host listens to has resigned (its channel may end)."""
        return all(p >= END_OF_TIME for s, p in self.promises.items() if self.plan.federates[s].site == site)

    # ------------------------------------------------------------ time
    def request(self, handle: int, time: LogicalTime, kind: str = TAR) -> None:
        """TAR (or NMR): granted here as soon as the promises of the member's senders let it."""
        m = self._member(handle)
        if m.pending is not None:
            raise E.TimeAdvanceAlreadyInProgress(f"{m.name!r} already requested {m.pending[0]}({m.pending[1]})")
        if time < m.time:
            raise E.LogicalTimeAlreadyPassed(f"{m.name!r} requested {time} but is already at {m.time}")
        if time > END_OF_TIME:
            raise E.InvalidLogicalTime(f"{m.name!r} requested {time}, beyond the end of time ({END_OF_TIME})")
        m.pending = (kind, time)
        if not m.constrained:
            self._grant(m, time)
        self._grant_ready()

    def resign(self, handle: int) -> None:
        """The member leaves: it promises its receivers the end of time."""
        m = self._member(handle)
        m.resigned = True
        m.tso.clear()  # never released now
        self.ready.pop(handle, None)
        if m.lookahead is not None:
            self._sent_promise[handle] = END_OF_TIME
            for site in m.out_sites:
                self._outgoing(site).promises[handle] = END_OF_TIME
                self._due.add(site)
        self._grant_ready()

    def _bound(self, m: _Member) -> LogicalTime:
        """The lowest timestamp member `m` may still send (the core's output bound)."""
        if m.resigned or m.lookahead is None:
            return END_OF_TIME
        return output_bound(m.time, m.lookahead, m.pending, m.tso)

    def _outputs(self) -> dict[int, LogicalTime]:
        """The lowest timestamp each regulating member here may still send: its receivers' GALTs, its promises.

        A granted or TAR-pending member's bound. An NMR-pending member may still be granted as early as the
        lowest message that can reach it, and send from there plus its lookahead, however far it asked: the
        least over chains of its senders, from the remote promises and the bounds here (shortest paths with
        positive lookaheads: Dijkstra). The core needs no chains, its GALT counting every regulator. Never
        decreasing: a message lowering an NMR candidate comes no lower than its sender's output, counted here.
        """
        members = self.members
        out = {h: self._bound(m) for h, m in members.items() if m.lookahead is not None}
        nmr = {h for h, m in members.items()
               if m.pending is not None and m.pending[0] == NMR and m.lookahead is not None and not m.resigned}
        if not nmr:
            return out
        for h in nmr:
            m = members[h]
            assert m.lookahead is not None
            for s in m.senders:
                if s not in members and self.promises[s] + m.lookahead < out[h]:
                    out[h] = self.promises[s] + m.lookahead
        heap = [(v, h) for h, v in out.items()]
        heapq.heapify(heap)
        while heap:
            v, h = heapq.heappop(heap)
            if v > out[h]:
                continue  # superseded
            for r in self._local_receivers[h]:
                la = members[r].lookahead
                assert la is not None
                if r in nmr and v + la < out[r]:
                    out[r] = v + la
                    heapq.heappush(heap, (v + la, r))
        return out

    def galt(self, m: _Member, outputs: dict[int, LogicalTime] | None = None) -> LogicalTime:
        """The greatest time `m` may be granted below: the least output of its senders (never decreasing)."""
        out = self._outputs() if outputs is None else outputs
        low = END_OF_TIME
        members, promises = self.members, self.promises
        for s in m.senders:
            b = promises[s] if s not in members else out[s]
            if b < low:
                low = b
        return low

    def _promise(self, m: _Member, outputs: dict[int, LogicalTime]) -> None:
        """Queue `m`'s promise to the sites it sends to, when it has grown."""
        if m.lookahead is None or not m.out_sites:
            return
        value = outputs[m.handle]
        if value > self._sent_promise[m.handle]:
            self._sent_promise[m.handle] = value
            for site in m.out_sites:
                self._outgoing(site).promises[m.handle] = value
                if self._unlocks(m.handle, site, value):
                    self._due.add(site)

    def _grant_ready(self) -> None:
        """Grant every member whose candidate time lies below its GALT; one grant may enable another here
        (an NMR grant raises its output to its grant + lookahead)."""
        outputs = self._outputs()
        granted = True
        while granted:
            granted = False
            for m in self.members.values():
                if m.pending is None or m.resigned:
                    continue
                kind, t = m.pending
                candidate = min(t, m.tso[0][0]) if kind == NMR and m.tso else t
                if candidate < self.galt(m, outputs) and candidate <= self.limit:
                    self._grant(m, candidate)
                    granted = True
                    outputs = self._outputs()
        for m in self.members.values():
            if not m.resigned:
                self._promise(m, outputs)

    @property
    def drained(self) -> bool:
        """Whether no member here can be granted anything more: each left, or waits past `limit`."""
        return all(m.resigned or (m.pending is not None and m.pending[1] > self.limit) for m in self.members.values())

    def regrant(self) -> None:
        """Grant what the promises allow now (after `limit` changed)."""
        self._grant_ready()

    def _grant(self, m: _Member, time: LogicalTime) -> None:
        queue = m.tso
        if queue:
            if m.latest_values and len(queue) > 1:
                released: list[Callback] = []
                while queue and queue[0][0] <= time:
                    released.append(heapq.heappop(queue)[3])
                m.callbacks.extend(merge_latest_values(released) if len(released) > 1 else released)
            while queue and queue[0][0] <= time:
                m.callbacks.append(heapq.heappop(queue)[3])
        m.time = time
        m.pending = None
        m.callbacks.append(TimeAdvanceGrant(time))
        self.ready[m.handle] = None

    def drain_below_galt(self, handle: int) -> tuple[list[Callback], LogicalTime | None]:
        """After a failure: the member's callbacks, every message held below its safe GALT, and that GALT."""
        m = self.members[handle]
        galt = None
        if m.constrained and (m.pending is None or m.pending[0] == TAR):
            galt = self.galt(m)
            queue = m.tso
            while queue and queue[0][0] < galt:
                m.callbacks.append(heapq.heappop(queue)[3])
        return self.drain(handle), galt
