"""One federation execution: federation, declaration, object, time and sync-point management.

Pure and deterministic: no I/O, no threads. Every service either raises a typed
RTIError before touching state, or applies fully and queues callbacks for the
federates concerned; runtimes drain those queues over whatever transport they use.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Mapping

from . import errors as E
from .callbacks import (
    AnnounceSynchronizationPoint,
    Callback,
    DiscoverObjectInstance,
    FederationSynchronized,
    ReceiveInteraction,
    ReflectAttributeValues,
    RemoveObjectInstance,
    TimeAdvanceGrant,
    TimeConstrainedEnabled,
    TimeRegulationEnabled,
    Values,
    merge_latest_values,
)
from .fom import FOM
from .ordering import KeyedMinHeap
from .time import END_OF_TIME, LogicalTime

TAR = "TAR"
NMR = "NMR"


@dataclass
class FederateState:
    handle: int
    name: str
    type: str
    time: LogicalTime
    lookahead: LogicalTime | None = None  # None: not time-regulating
    constrained: bool = False
    latest_values: bool = False  # reflections released by one grant are merged per object
    pending: tuple[str, LogicalTime] | None = None
    published: dict[int, frozenset[int]] = field(default_factory=dict)
    subscribed: dict[int, frozenset[int]] = field(default_factory=dict)
    published_interactions: set[int] = field(default_factory=set)
    subscribed_interactions: set[int] = field(default_factory=set)
    # (timestamp, sender name, sender sequence, callback): the fixed tie-break rule.
    tso: list[tuple[LogicalTime, str, int, Callback]] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)  # replaced, not copied, on drain
    sent: int = 0
    discovered: set[int] = field(default_factory=set)


def output_bound(time: LogicalTime, lookahead: LogicalTime, pending: tuple[str, LogicalTime] | None,
                 tso: list[tuple[LogicalTime, str, int, Callback]]) -> LogicalTime:
    """The lowest timestamp a regulating federate may still send: its time + lookahead, or its pending
    request's time + lookahead (an NMR's lowered to the first message it holds). Shared with channels.py."""
    if pending is None:
        return time + lookahead
    kind, t = pending
    if kind == NMR and tso:
        t = min(t, tso[0][0])
    return t + lookahead


@dataclass
class ObjectInstance:
    handle: int
    name: str
    class_handle: int
    owner: str


@dataclass(frozen=True, slots=True)
class _Publication:
    """A validated (owner, object) pair, so repeated updates skip the ownership and FOM checks.

    `published` is the owner's set when validated; publishing more later only makes
    the cached set too small, which sends that update through full validation again.
    """

    handle: int
    fed: FederateState
    class_handle: int
    published: frozenset[int]


_NO_SUBSCRIBERS: dict[str, tuple[FederateState, frozenset[int]]] = {}


@dataclass
class SyncPoint:
    tag: str
    waiting: set[str]
    members: tuple[str, ...]


class FederationExecution:
    """State of one federation execution, advanced only through its service methods."""

    def __init__(self, name: str, fom: FOM, start_time: LogicalTime = 0, defer_grants: bool = False) -> None:
        """defer_grants: for a runtime that reads callbacks only between federates' turns (take_ready,
        drain): the grants time advance requests make possible are then found once per turn, not
        after every request. Same grants, same times, same messages with them. take_ready and every
        service that reads or changes times find them first; drain alone does not."""
        self.name = name
        self.fom = fom
        self.start_time = start_time
        self._federates: dict[str, FederateState] = {}
        self._by_handle: dict[int, FederateState] = {}
        self._next_handle = 1
        self._objects: dict[int, ObjectInstance] = {}
        self._object_names: dict[str, int] = {}
        self._next_object = 1
        self._sync: dict[str, SyncPoint] = {}
        # Subscriber indexes keep routing O(subscribers), not O(federates); object
        # subscribers carry their subscribed attribute set.
        self._class_subscribers: dict[int, dict[str, tuple[FederateState, frozenset[int]]]] = {}
        self._interaction_subscribers: dict[int, dict[str, FederateState]] = {}
        self._publications: dict[int, _Publication] = {}  # by object handle
        # Output time bound of each regulating federate, and candidate grant time of each waiter.
        self._bounds = KeyedMinHeap()
        self._waiting = KeyedMinHeap()
        # NMR-pending regulators at their granted time + lookahead: with `_bounds` this gives a
        # GALT that never decreases (the "safe" GALT), which remote hosts may grant themselves below.
        self._nmr_floor = KeyedMinHeap()
        self._ahead_ok = True  # false once a call could lower a safe GALT (see safe_galt)
        self._granted_any = False
        self._ready: dict[int, None] = {}  # insertion-ordered set
        self._nmr_moved = False  # an NMR waiter's candidate fell: grants may now be possible
        # Federates in lockstep are granted the same time: they share one grant (never mutated: see callbacks).
        self._last_grant = TimeAdvanceGrant(start_time)
        self._defer_grants = defer_grants
        self._grants_due = False  # deferred: requests arrived since the last _grant_ready

    # ----------------------------------------------------------------- lookup
    def federate(self, handle: int) -> FederateState:
        self._settle_due()
        try:
            return self._by_handle[handle]
        except KeyError:
            raise E.FederateNotExecutionMember(
                f"federate handle {handle} is not joined to federation {self.name!r}"
            ) from None

    @property
    def federates(self) -> list[FederateState]:
        self._settle_due()
        return list(self._federates.values())

    def federate_by_name(self, name: str) -> FederateState:
        self._settle_due()
        try:
            return self._federates[name]
        except KeyError:
            raise E.FederateNotExecutionMember(f"no federate named {name!r} in {self.name!r}") from None

    @property
    def objects(self) -> list[ObjectInstance]:
        """Every registered object instance, in registration order."""
        return list(self._objects.values())

    def object_instance(self, handle: int) -> ObjectInstance:
        try:
            return self._objects[handle]
        except KeyError:
            raise E.ObjectInstanceNotKnown(f"object instance handle {handle} is not known") from None

    def drain(self, handle: int) -> list[Callback]:
        """Hand over (and forget) the callbacks queued for a federate, oldest first (deferred grants: see take_ready)."""
        fed = self._by_handle.get(handle) or self.federate(handle)  # federate() raises the typed error
        out = fed.callbacks
        fed.callbacks = []
        self._ready.pop(handle, None)
        return out

    def take_ready(self) -> list[int]:
        """Handles of federates with callbacks waiting, in the order they became ready; deferred grants are found first."""
        self._settle_due()
        ready = list(self._ready)
        self._ready.clear()
        return ready

    def _settle_due(self) -> None:
        """Deferred grants first, for services that read or change times (every one but drain)."""
        if self._grants_due:
            self._grants_due = False
            self._grant_ready()

    def _push(self, fed: FederateState, callback: Callback) -> None:
        fed.callbacks.append(callback)
        self._ready[fed.handle] = None

    # ---------------------------------------------------- federation management
    def join(self, name: str, federate_type: str = "") -> int:
        if not name:
            raise E.RTIError("federate name must not be empty")
        if name in self._federates:
            raise E.FederateNameAlreadyInUse(f"federate name {name!r} is already joined to {self.name!r}")
        fed = FederateState(self._next_handle, name, federate_type, self._joined_time())
        self._next_handle += 1
        self._federates[name] = fed
        self._by_handle[fed.handle] = fed
        return fed.handle

    def _joined_time(self) -> LogicalTime:
        self._settle_due()
        # A late joiner starts no earlier than the slowest constrained member.
        times = [f.time for f in self._federates.values() if f.constrained]
        return min(times) if times else self.start_time

    def resign(self, handle: int) -> None:
        fed = self.federate(handle)
        for obj in [o for o in self._objects.values() if o.owner == fed.name]:
            self._delete_object(obj)
        del self._federates[fed.name]
        del self._by_handle[handle]
        self._ready.pop(handle, None)
        self._bounds.discard(fed.name)
        self._waiting.discard(fed.name)
        self._nmr_floor.discard(fed.name)
        for subscribers in self._class_subscribers.values():
            subscribers.pop(fed.name, None)
        for interaction_subscribers in self._interaction_subscribers.values():
            interaction_subscribers.pop(fed.name, None)
        for label, point in list(self._sync.items()):
            if fed.name in point.members:
                point.waiting.discard(fed.name)
                point.members = tuple(m for m in point.members if m != fed.name)
                self._maybe_synchronized(label)
        self._grant_ready()

    @property
    def empty(self) -> bool:
        return not self._federates

    # --------------------------------------------------- declaration management
    def publish_object_class_attributes(self, handle: int, class_name: str, attributes: list[str]) -> None:
        fed = self.federate(handle)
        cls = self.fom.object_class(class_name)
        attrs = self.fom.attribute_handles(cls, attributes)
        fed.published[cls.handle] = fed.published.get(cls.handle, frozenset()) | attrs

    def subscribe_object_class_attributes(self, handle: int, class_name: str, attributes: list[str]) -> None:
        fed = self.federate(handle)
        cls = self.fom.object_class(class_name)
        attrs = self.fom.attribute_handles(cls, attributes)
        subscribed = fed.subscribed[cls.handle] = fed.subscribed.get(cls.handle, frozenset()) | attrs
        self._class_subscribers.setdefault(cls.handle, {})[fed.name] = (fed, subscribed)
        for obj in self._objects.values():
            if obj.class_handle == cls.handle and obj.owner != fed.name:
                self._discover(fed, obj)

    def unsubscribe_object_class(self, handle: int, class_name: str) -> None:
        fed = self.federate(handle)
        cls = self.fom.object_class(class_name)
        fed.subscribed.pop(cls.handle, None)
        self._class_subscribers.get(cls.handle, {}).pop(fed.name, None)

    def publish_interaction_class(self, handle: int, class_name: str) -> None:
        fed = self.federate(handle)
        fed.published_interactions.add(self.fom.interaction_class(class_name).handle)

    def subscribe_interaction_class(self, handle: int, class_name: str) -> None:
        fed = self.federate(handle)
        cls = self.fom.interaction_class(class_name)
        fed.subscribed_interactions.add(cls.handle)
        self._interaction_subscribers.setdefault(cls.handle, {})[fed.name] = fed

    # -------------------------------------------------------- object management
    def register_object_instance(self, handle: int, class_name: str, name: str | None = None) -> int:
        fed = self.federate(handle)
        cls = self.fom.object_class(class_name)
        if cls.handle not in fed.published:
            raise E.ObjectClassNotPublished(f"{fed.name!r} does not publish object class {class_name!r}")
        obj_handle = self._next_object
        if name is None:
            name = f"{class_name}#{obj_handle}"  # '#' is in no name a federate may give
        elif not (name == fed.name or name.startswith(fed.name + ".")) or "#" in name:
            # Names are scoped to their federate: nobody can take the name another will register.
            raise E.ObjectInstanceNameNotReserved(
                f"{fed.name!r} may register object instances named {fed.name!r} or {fed.name + '.<anything>'!r} "
                f"(without '#'), not {name!r}")
        if name in self._object_names:
            raise E.ObjectInstanceNameInUse(f"object instance name {name!r} is already registered")
        self._next_object += 1
        obj = ObjectInstance(obj_handle, name, cls.handle, fed.name)
        self._objects[obj_handle] = obj
        self._object_names[name] = obj_handle
        for other, _ in self._class_subscribers.get(cls.handle, _NO_SUBSCRIBERS).values():
            if other is not fed:
                self._discover(other, obj)
        return obj_handle

    def _discover(self, fed: FederateState, obj: ObjectInstance) -> None:
        if obj.handle not in fed.discovered:
            fed.discovered.add(obj.handle)
            self._push(fed, DiscoverObjectInstance(obj.handle, obj.class_handle, obj.name))

    def delete_object_instance(self, handle: int, object_handle: int) -> None:
        fed = self.federate(handle)
        obj = self.object_instance(object_handle)
        if obj.owner != fed.name:
            raise E.AttributeNotOwned(f"{fed.name!r} does not own object instance {obj.name!r}")
        self._delete_object(obj)

    def _delete_object(self, obj: ObjectInstance) -> None:
        del self._objects[obj.handle]
        del self._object_names[obj.name]
        self._publications.pop(obj.handle, None)
        for other in self._federates.values():
            if obj.handle in other.discovered:
                other.discovered.discard(obj.handle)
                self._push(other, RemoveObjectInstance(obj.handle))

    def update_attribute_values(
        self, handle: int, object_handle: int, values: Values, timestamp: LogicalTime | None = None
    ) -> None:
        pub = self._publications.get(object_handle)
        if pub is None or pub.handle != handle or not pub.published.issuperset(values):
            pub = self._validate_update(handle, object_handle, values)
        fed = pub.fed
        if timestamp is not None and fed.pending is None and fed.lookahead is not None \
                and timestamp >= fed.time + fed.lookahead:
            tso_time: LogicalTime | None = timestamp  # the usual send: a granted regulator within its lookahead
        else:
            tso_time = timestamp if self._check_send_time(fed, timestamp) else None
        sender = fed.name
        seq = fed.sent
        fed.sent += 1
        # Subscribers to every updated attribute share one copy of the values and one callback.
        shared: ReflectAttributeValues | None = None
        for other, subscribed in self._class_subscribers.get(pub.class_handle, _NO_SUBSCRIBERS).values():
            if other is fed:
                continue
            if subscribed.issuperset(values):
                if shared is None:
                    shared = ReflectAttributeValues(object_handle, dict(values), timestamp, sender)
                cb = shared
            else:
                selected = {a: v for a, v in values.items() if a in subscribed}
                if not selected:
                    continue
                cb = ReflectAttributeValues(object_handle, selected, timestamp, sender)
            if tso_time is not None and other.constrained:  # _deliver's common case, inline
                assert tso_time >= other.time, "conservative sync violated"
                heapq.heappush(other.tso, (tso_time, sender, seq, cb))
                if other.pending is not None and other.pending[0] == NMR:
                    self._refresh_nmr(other)
                    self._nmr_moved = True
            else:
                self._deliver(other, cb, tso_time, sender, seq)
        if self._nmr_moved:
            self._after_send()

    def _validate_update(self, handle: int, object_handle: int, values: Values) -> _Publication:
        fed = self.federate(handle)
        obj = self.object_instance(object_handle)
        if obj.owner != fed.name:
            raise E.AttributeNotOwned(f"{fed.name!r} does not own object instance {obj.name!r}")
        cls = self.fom.object_class_by_handle(obj.class_handle)
        self.fom.check_members(cls, values)
        published = fed.published.get(cls.handle, frozenset())
        unpublished = [cls.members[a] for a in values if a not in published]
        if unpublished:
            raise E.AttributeNotPublished(f"{fed.name!r} does not publish {cls.name}.{unpublished}")
        pub = self._publications[object_handle] = _Publication(handle, fed, cls.handle, published)
        return pub

    def send_interaction(
        self, handle: int, class_name: str, parameters: Values, timestamp: LogicalTime | None = None
    ) -> None:
        fed = self.federate(handle)
        cls = self.fom.interaction_class(class_name)
        if cls.handle not in fed.published_interactions:
            raise E.InteractionClassNotPublished(f"{fed.name!r} does not publish interaction {class_name!r}")
        self.fom.check_members(cls, parameters, interaction=True)
        tso_time = timestamp if self._check_send_time(fed, timestamp) else None
        seq = fed.sent
        fed.sent += 1
        shared: ReceiveInteraction | None = None  # one copy of the parameters for every receiver
        for other in self._interaction_subscribers.get(cls.handle, {}).values():
            if other is not fed:
                if shared is None:
                    shared = ReceiveInteraction(cls.handle, dict(parameters), timestamp, fed.name)
                self._deliver(other, shared, tso_time, fed.name, seq)
        self._after_send()

    def _after_send(self) -> None:
        if self._nmr_moved:
            self._nmr_moved = False
            self._grant_ready()

    def _check_send_time(self, fed: FederateState, timestamp: LogicalTime | None) -> bool:
        """Validate a send's timestamp; True when it travels in timestamp order."""
        if timestamp is None or fed.lookahead is None:
            return False
        # A granted federate (the usual sender) has no pending request: skip _output_bound.
        bound = fed.time + fed.lookahead if fed.pending is None else self._output_bound(fed)
        if timestamp < bound:
            raise E.InvalidLogicalTime(
                f"{fed.name!r} sent timestamp {timestamp} below its time + lookahead ({bound})"
            )
        return True

    def _deliver(self, fed: FederateState, cb: Callback, tso_time: LogicalTime | None, sender: str, seq: int) -> None:
        if tso_time is None or not fed.constrained:
            self._push(fed, cb)
            return
        assert tso_time >= fed.time, "conservative sync violated"
        heapq.heappush(fed.tso, (tso_time, sender, seq, cb))
        if fed.pending is not None and fed.pending[0] == NMR:
            self._refresh_nmr(fed)
            self._nmr_moved = True

    # ---------------------------------------------------------- time management
    def _output_bound(self, fed: FederateState) -> LogicalTime:
        assert fed.lookahead is not None
        return output_bound(fed.time, fed.lookahead, fed.pending, fed.tso)

    def _refresh_nmr(self, fed: FederateState) -> None:
        assert fed.pending is not None
        candidate = min(fed.pending[1], fed.tso[0][0]) if fed.tso else fed.pending[1]
        self._waiting.set(fed.name, candidate)
        if fed.lookahead is not None:
            self._bounds.set(fed.name, candidate + fed.lookahead)
            self._nmr_floor.set(fed.name, fed.time + fed.lookahead)

    def enable_time_regulation(self, handle: int, lookahead: LogicalTime) -> None:
        self._settle_due()
        fed = self.federate(handle)
        if fed.lookahead is not None:
            raise E.TimeRegulationAlreadyEnabled(f"{fed.name!r} is already time-regulating")
        if lookahead < 0:
            raise E.InvalidLookahead(f"lookahead {lookahead} of {fed.name!r} is negative")
        if lookahead >= END_OF_TIME:
            raise E.InvalidLookahead(f"lookahead {lookahead} of {fed.name!r} is beyond the end of time")
        if fed.pending is not None:
            raise E.TimeAdvanceAlreadyInProgress(f"{fed.name!r} has a time advance pending")
        # Never let a new regulator send into a constrained federate's past.
        constrained = [f.time for f in self._federates.values() if f.constrained and f is not fed]
        fed.time = max([fed.time, *constrained])
        if self._granted_any:  # a regulator joining a running federation may lower GALTs
            self._ahead_ok = False
        fed.lookahead = lookahead
        self._bounds.set(fed.name, fed.time + lookahead)
        self._push(fed, TimeRegulationEnabled(fed.time))

    def disable_time_regulation(self, handle: int) -> None:
        self._settle_due()
        fed = self.federate(handle)
        fed.lookahead = None
        self._bounds.discard(fed.name)
        self._nmr_floor.discard(fed.name)
        self._grant_ready()

    def modify_lookahead(self, handle: int, lookahead: LogicalTime) -> None:
        self._settle_due()
        fed = self.federate(handle)
        if fed.lookahead is None or not 0 <= lookahead < END_OF_TIME:
            raise E.InvalidLookahead(f"cannot set lookahead {lookahead} on {fed.name!r}")
        if lookahead < fed.lookahead and fed.pending is None:
            raise E.InvalidLookahead(f"{fed.name!r} may only shrink its lookahead while advancing")
        if lookahead < fed.lookahead:
            self._ahead_ok = False
        fed.lookahead = lookahead
        self._bounds.set(fed.name, self._output_bound(fed))
        self._grant_ready()

    def enable_time_constrained(self, handle: int, latest_values: bool = False) -> None:
        """Become time-constrained; with `latest_values`, the reflections one grant releases are
        merged per object instance (see callbacks.merge_latest_values): for federates that only use
        the latest value of each input, like every time-stepped model, it saves their work."""
        self._settle_due()
        fed = self.federate(handle)
        if fed.constrained:
            raise E.TimeConstrainedAlreadyEnabled(f"{fed.name!r} is already time-constrained")
        if fed.pending is not None:
            raise E.TimeAdvanceAlreadyInProgress(f"{fed.name!r} has a time advance pending")
        galt = self._bounds.min_excluding(fed.name)
        if galt is not None and galt < fed.time:
            raise E.InvalidLogicalTime(
                f"{fed.name!r} at {fed.time} cannot become time-constrained: GALT is {galt}"
            )
        fed.constrained = True
        fed.latest_values = latest_values
        self._push(fed, TimeConstrainedEnabled(fed.time))

    def disable_time_constrained(self, handle: int) -> None:
        self._settle_due()
        fed = self.federate(handle)
        fed.constrained = False
        while fed.tso:
            self._push(fed, heapq.heappop(fed.tso)[3])
        if fed.pending is not None:
            self._waiting.discard(fed.name)
            self._grant(fed, fed.pending[1])

    def time_advance_request(self, handle: int, time: LogicalTime, _kind: str = TAR) -> None:
        """TAR; next_message_request shares this path with _kind=NMR (one call less per step)."""
        kind = _kind
        fed = self._by_handle.get(handle) or self.federate(handle)  # federate() raises the typed error
        if fed.pending is not None:
            raise E.TimeAdvanceAlreadyInProgress(
                f"{fed.name!r} already requested {fed.pending[0]}({fed.pending[1]})"
            )
        if time < fed.time:
            raise E.LogicalTimeAlreadyPassed(f"{fed.name!r} requested {time} but is already at {fed.time}")
        if time > END_OF_TIME:  # so that time + lookahead stays a 64-bit integer on the wire
            raise E.InvalidLogicalTime(f"{fed.name!r} requested {time}, beyond the end of time ({END_OF_TIME})")
        fed.pending = (kind, time)
        if not fed.constrained:
            self._grant(fed, time)
            if fed.lookahead is None:
                return
            self._bounds.set(fed.name, fed.time + fed.lookahead)
        elif kind == NMR:
            self._refresh_nmr(fed)
        else:
            self._waiting.set(fed.name, time)
            if fed.lookahead is not None:
                self._bounds.set(fed.name, time + fed.lookahead)
        if self._defer_grants:
            self._grants_due = True
        else:
            self._grant_ready()

    def next_message_request(self, handle: int, time: LogicalTime) -> None:
        self.time_advance_request(handle, time, _kind=NMR)

    def safe_galt(self, handle: int) -> LogicalTime | None:
        """A GALT that can only grow (END_OF_TIME when nobody else regulates); None when none is known.

        An NMR-pending regulator may still lower its output bound down to its granted time +
        lookahead, so that is what counts for it here. A regulator enabled mid-run or a shrunk
        lookahead could lower it too: after either, no safe GALT is given any more.
        """
        self._settle_due()
        if not self._ahead_ok:
            return None
        name = self.federate(handle).name
        bounds = [b for b in (self._bounds.min_excluding(name), self._nmr_floor.min_excluding(name)) if b is not None]
        return min(bounds) if bounds else END_OF_TIME

    def drain_below_galt(self, handle: int) -> tuple[list[Callback], LogicalTime | None]:
        """After a failure: like drain_ahead, even with a TAR pending. Nothing can arrive below
        the safe GALT, so what a federate holds below it is final (the recorder's last rows)."""
        return self.drain_ahead(handle, even_pending=True)

    def drain_ahead(self, handle: int, even_pending: bool = False) -> tuple[list[Callback], LogicalTime | None]:
        """Like drain, plus every TSO message stamped below the federate's safe GALT, and that GALT.

        Nothing can arrive below a safe GALT any more, so a remote federate holding these may
        grant itself any TAR below it in the order the RTI would (see GrpcTransport). Only a
        federate with no request pending here gets them: a pending TAR is granted here, with
        its messages, as soon as GALT passes it, so shipping them earlier would only cost a
        message per GALT move; and an NMR grant depends on the messages staying here.
        """
        self._settle_due()
        fed = self._by_handle.get(handle) or self.federate(handle)
        galt = None
        if fed.constrained and (fed.pending is None or (even_pending and fed.pending[0] == TAR)):
            galt = self.safe_galt(handle)
            if galt is not None:
                queue, callbacks = fed.tso, fed.callbacks
                while queue and queue[0][0] < galt:
                    callbacks.append(heapq.heappop(queue)[3])
        return self.drain(handle), galt

    def query_galt(self, handle: int) -> LogicalTime | None:
        """Greatest available logical time of a federate; None when nobody regulates."""
        self._settle_due()
        return self._bounds.min_excluding(self.federate(handle).name)

    def _grant_ready(self) -> None:
        """Grant every waiter whose candidate time lies below its GALT.

        With b1 the smallest output bound, GALT is b1 for every federate except a sole
        holder o1 of b1, whose GALT is the next distinct bound b2. Granting never moves
        a bound, so a single pass suffices; each grant costs O(log N). Most calls grant
        nothing (lockstep peers still hold b1), and cost two minimum reads.
        """
        waiting, bounds = self._waiting, self._bounds
        lowest = waiting.min()
        if lowest is None:
            return
        b1, owner = bounds.min_and_sole_holder()
        if b1 is None or lowest < b1:
            for candidate, name in waiting.pop_below(b1):
                self._grant(self._federates[name], candidate)
        if owner is not None:
            pending = waiting.get(owner)
            if pending is not None:
                b2 = bounds.second()
                if b2 is None or pending < b2:
                    waiting.discard(owner)
                    self._grant(self._federates[owner], pending)

    def _grant(self, fed: FederateState, time: LogicalTime) -> None:
        queue = fed.tso
        if queue:
            callbacks = fed.callbacks  # what _push does, once per grant
            if fed.latest_values and len(queue) > 1:
                released: list[Callback] = []
                while queue and queue[0][0] <= time:
                    released.append(heapq.heappop(queue)[3])
                callbacks.extend(merge_latest_values(released) if len(released) > 1 else released)
            while queue and queue[0][0] <= time:
                callbacks.append(heapq.heappop(queue)[3])
        if fed.pending is not None and fed.pending[0] == NMR:
            self._nmr_floor.discard(fed.name)  # only NMR-pending federates have a floor
        fed.time = time
        fed.pending = None
        self._granted_any = True
        grant = self._last_grant
        if grant.time != time:
            grant = self._last_grant = TimeAdvanceGrant(time)
        fed.callbacks.append(grant)
        self._ready[fed.handle] = None

    @property
    def deadlocked(self) -> bool:
        """True when every member waits for a grant that no member can make possible."""
        self._settle_due()
        return bool(self._federates) and all(f.pending is not None for f in self._federates.values())

    # ----------------------------------------------------- synchronization points
    def register_synchronization_point(
        self, handle: int, label: str, tag: str = "", members: list[str] | None = None
    ) -> None:
        self.federate(handle)
        if label in self._sync:
            raise E.SynchronizationPointLabelInUse(f"synchronization point {label!r} is already registered")
        names = list(self._federates) if members is None else members
        unknown = [n for n in names if n not in self._federates]
        if unknown:
            raise E.FederateNotExecutionMember(f"synchronization set names unknown federates {unknown}")
        self._sync[label] = SyncPoint(tag, set(names), tuple(names))
        for name in names:
            self._push(self._federates[name], AnnounceSynchronizationPoint(label, tag))

    def synchronization_point_achieved(self, handle: int, label: str) -> None:
        fed = self.federate(handle)
        point = self._sync.get(label)
        if point is None or fed.name not in point.members:
            raise E.SynchronizationPointLabelNotAnnounced(
                f"synchronization point {label!r} was not announced to {fed.name!r}"
            )
        point.waiting.discard(fed.name)
        self._maybe_synchronized(label)

    def _maybe_synchronized(self, label: str) -> None:
        point = self._sync[label]
        if point.waiting:
            return
        del self._sync[label]
        for name in point.members:
            self._push(self._federates[name], FederationSynchronized(label))

    def pending_synchronization_points(self) -> Mapping[str, frozenset[str]]:
        return {label: frozenset(p.waiting) for label, p in self._sync.items()}
