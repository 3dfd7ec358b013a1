"""A federation's state on the server: its execution, its members' sessions and stats, and the watchdog's rules.

Plain Python (no protocol message, no event loop): the service encodes what it reports at its edge
(sessions.py for what goes down a host's stream, wire.py for the admin status). Each federation has
its own lock, so a failure or a bad client in one never touches another.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from federation.clip import clip
from federation.errors import FederationFailed
from federation.rti import errors as E
from federation.rti.callbacks import TimeAdvanceGrant
from federation.rti.execution import FederationExecution
from federation.rti.plan import RoutingPlan, plan_of
from federation.rti.time import END_OF_TIME, LogicalTime, to_seconds

from federation.server.limits import Limits
from federation.server.sessions import HostSession

log = logging.getLogger(__name__)

# s a direct federation waits, once a host's stream ended, for a heartbeat of each of that host's peers: only they
# know how far it had come (its last promises to them), and its failure is named at that time
LOST_GRACE = 1.5


@dataclass(frozen=True)
class FederateStatus:
    """One member as `rti status` shows it."""

    name: str
    host: str
    time: int
    pending: str  # the kind of request it waits on ("TAR", "NMR"), or ""
    pending_time: int
    last_heartbeat_age_s: float
    regulating: bool
    constrained: bool
    lookahead: int
    messages_in: int
    bytes_in: int


@dataclass(frozen=True)
class FederationStatus:
    """A federation as the admin service reports it; `failure` is set once it failed."""

    name: str
    state: str
    federates: list[FederateStatus] = field(default_factory=list)
    error: str = ""
    failure: FederationFailed | None = None


@dataclass
class Stats:
    """What a federate sent: messages and their bytes."""

    messages: int = 0
    bytes: int = 0


class FederationState:
    """One federation execution on the server, with its sessions and failure state."""

    def __init__(self, execution: FederationExecution, grant_timeout: float,
                 max_callbacks_bytes: int = Limits.max_callbacks_bytes) -> None:
        self.execution = execution
        self.grant_timeout = grant_timeout
        self.max_callbacks_bytes = max_callbacks_bytes
        self.lock = threading.RLock()
        self.sessions: dict[int, HostSession] = {}
        self.sites: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self.stats: dict[int, Stats] = {}
        self.granted_here: dict[int, set[int]] = {}  # TARs a host granted itself: no grant to send back
        self.state = "running"
        self.failure: FederationFailed | None = None
        self.ended: Any = None  # pb.Ended: the run ended where a model asked it to
        self.last_progress = time.monotonic()
        self.ended_at = 0.0  # monotonic time it finished or failed
        self.all_sessions: list[HostSession] = []
        self.scenario_digest = ""  # from CreateFederation: what every site's scenario must share
        # From CreateFederation: "relay" (every value through this server) or "direct" (host to host, as
        # the routing plan says), and the sites that accept no connection, whose channels are relayed.
        self.routing: str = "relay"
        self.relay_sites: frozenset[str] = frozenset()
        self.plan: RoutingPlan | None = None  # direct, once sent: time and data no longer pass through here
        self.progress: dict[int, Any] = {}  # direct: each federate's last pb.Progress from its host
        self.advanced: dict[int, float] = {}  # direct: when each federate's reported time last grew (monotonic)
        self.promised: dict[int, dict[str, LogicalTime]] = {}  # direct: how far each federate came, by site that heard
        self.doomed: list[tuple[float, int | None, str, str]] = []  # failures due: (when, federate, site, reason)

    @property
    def name(self) -> str:
        return self.execution.name

    def flush(self) -> None:
        """Ship every queued callback to the session of its federate, one message per federate."""
        ex = self.execution
        for handle in ex.take_ready():
            self._ship(handle, *ex.drain_ahead(handle))

    def _ship(self, handle: int, drained: list[Any], galt: int | None, final: bool = False) -> None:
        here = self.granted_here.pop(handle, ())
        items = [c for c in drained if not (isinstance(c, TimeAdvanceGrant) and c.time in here)]
        session = self.sessions.get(handle)
        if session is None or not (items or (final and galt is not None)):
            return
        session.send_callbacks(handle, items, galt, self.max_callbacks_bytes)

    def finish(self) -> None:
        self.state, self.ended_at = "finished", time.monotonic()

    def end(self, ended: Any) -> None:
        """The run ended where a model asked it to (pb.Ended, the coordinator's word): finished, and every host
        is told, so that its federates stop where they are."""
        if self.state != "running":
            return
        self.finish()
        self.ended = ended
        log.info("federation %s ended at t=%ss: federate %r: %s", self.name, to_seconds(ended.time),
                 ended.federate, clip(ended.reason))
        for session in list(self.all_sessions):
            if not session.closed:
                session.send(ended=ended)

    def direct_plan(self) -> RoutingPlan:
        """The routing plan of this direct federation as it stands (every member has declared)."""
        endpoints = {s.site: s.endpoint for s in self.all_sessions if s.handles}
        return plan_of(self.execution, self.sites, endpoints, self.relay_sites)

    def time_of(self, handle: int) -> int:
        """A member's logical time: the core's, or with direct routing the last its host reported, unless every
        peer it sends to heard a later promise from it since (its host lost or silent): then the time up to which
        they all have what it sent, which is what the promises say it had reached (or asked for)."""
        if self.plan is None:
            try:
                return self.execution.federate(handle).time
            except E.RTIError:
                return self.execution.start_time
        p = self.progress.get(handle)
        t = self.execution.start_time if p is None else int(p.time)
        heard = self.heard(handle)
        if heard is not None and heard > t and not (p is not None and p.waiting and heard <= p.pending_time):
            return heard
        return t

    def heard(self, handle: int) -> LogicalTime | None:
        """The least of the last promises (less the lookahead) the sites still here heard from `handle`."""
        by_site = self.promised.get(handle, {})
        here = {self.sites.get(h) for h in self.sessions}
        told = [t for site, t in by_site.items() if site in here] or list(by_site.values())
        return min(told) if told else None

    def hear_promises(self, promises: Any, receivers: set[int], site: str) -> None:
        """Direct routing: the last promises (pb.Promise) a host of `site` holds from the senders of its federates
        (`receivers`; any other is ignored). A promise is its sender's requested or granted time plus its lookahead."""
        plan = self.plan
        if plan is None or not receivers:
            return
        senders = set().union(*(plan.senders.get(r, ()) for r in receivers))
        for p in promises:
            f = plan.federates.get(p.federate)
            if f is not None and f.handle in senders and f.lookahead is not None and p.time < END_OF_TIME:
                self.promised.setdefault(f.handle, {})[site] = p.time - f.lookahead

    def lose(self, handle: int | None, reason: str, after: float, site: str = "") -> None:
        """Fail the federation `after` s from now blaming `handle` (or, with none, `site`), unless it fails
        first: the first failure due is the one reported (the watchdog fires it)."""
        if self.state == "running" and not any(d[1] == handle and d[2] == site for d in self.doomed):
            self.doomed.append((time.monotonic() + after, handle, site, reason))

    def report_progress(self, reports: Any, handles: set[int]) -> None:
        """A direct host's progress on its own federates (`handles`: another's are ignored): what `rti status`
        shows, and what the watchdog reads as progress."""
        now = time.monotonic()
        for p in reports:
            if p.federate in handles and p.federate in self.names:
                before = self.progress.get(p.federate)
                if before is None or p.time > before.time or p.messages_in > before.messages_in:
                    self.last_progress = now
                if before is None or p.time > before.time:
                    self.advanced[p.federate] = now
                self.progress[p.federate] = p

    def fail(self, handle: int | None, reason: str, reported: bool = False, site: str = "", name: str = "",
             at: int | None = None) -> None:
        """Stop the federation, blaming `handle` (or, with none, federate `name` of `site`) at its logical time.

        `reported`: the reason is the federate's own error, shown as it is (see pb.Abort)."""
        if self.state != "running":
            return
        name = self.names.get(handle, "") if handle is not None else name
        host = self.sites.get(handle, site) if handle is not None else site
        t = self.execution.start_time if handle is None else self.time_of(handle)
        if at is not None:
            t = at
        reason = clip(reason, 64 * 1024)
        if reported and not reason.startswith(f"federate {name!r}"):
            # Shown as it is only when it names the member the RTI blames: none may put its failure on another.
            reason = f"federate {name!r} on host {host!r} at t={to_seconds(t)} s: {reason}"
        self.state, self.ended_at = "failed", time.monotonic()
        self.failure = FederationFailed(name, host, t, reason, reported)
        # What lies below a member's safe GALT is final: ship it first, so that the recorder
        # can still write every row the federation completed.
        for member in self.execution.federates if self.plan is None else ():  # direct: hosts hold their own
            if member.constrained and member.lookahead is None:
                try:
                    self._ship(member.handle, *self.execution.drain_below_galt(member.handle), final=True)
                except Exception:  # the failure notice must still go out to everyone
                    log.exception("could not ship the final messages of federate %r", member.name)
        log.error("federation %s failed: federate %r on host %r at t=%ss: %s", self.name, name, host, to_seconds(t),
                  clip(reason))
        for session in list(self.all_sessions):
            if not session.closed:
                session.send_failure(self.failure)

    def status(self) -> FederationStatus:
        """A snapshot of the federation and its members, sorted by name."""
        now = time.monotonic()
        feds = []
        for f in sorted(self.execution.federates, key=lambda f: f.name):
            session = self.sessions.get(f.handle)
            st = self.stats.get(f.handle, Stats())
            t, pending = f.time, (f.pending or ("", 0))
            if (p := self.progress.get(f.handle)) is not None:  # direct: as its host reported
                t, pending = p.time, (("TAR" if p.waiting else ""), p.pending_time if p.waiting else 0)
                st = Stats(st.messages + p.messages_out, st.bytes)
            feds.append(FederateStatus(
                name=f.name, host=self.sites.get(f.handle, ""), time=t,
                pending=pending[0], pending_time=pending[1],
                last_heartbeat_age_s=now - session.last_seen if session else 0.0,
                regulating=f.lookahead is not None, constrained=f.constrained, lookahead=f.lookahead or 0,
                messages_in=st.messages, bytes_in=st.bytes))
        reason = ""
        if self.failure is not None:
            fl = self.failure
            reason = fl.reason if fl.reported else f"federate {fl.federate!r} on host {fl.host!r} at t={to_seconds(fl.time)} s: {fl.reason}"
        return FederationStatus(name=self.name, federates=feds, state=self.state, error=reason, failure=self.failure)

    def check_liveness(self, now: float, limits: Limits) -> None:
        """The watchdog's rules, run under the federation lock."""
        for session in self.all_sessions:
            # A session with no federate joined fails nobody when it goes silent: it is only closed.
            if not session.handles and not session.closed and now - session.last_seen > limits.heartbeat_timeout:
                session.lost(f"no message or heartbeat for {now - session.last_seen:.1f} s and no federate joined")
        if self.state != "running":
            return
        if self.doomed:  # a verdict is on its way: the first due is given, nothing else is judged meanwhile
            when, handle, site, reason = min(self.doomed, key=lambda d: d[0])
            if when <= now:
                self.fail(handle, reason, site=site)
            return
        for handle, session in sorted(self.sessions.items()):
            if now - session.last_seen > limits.heartbeat_timeout:
                # With direct routing its peers have been reporting what they heard from it all along: no grace.
                self.fail(handle, f"no message or heartbeat for {now - session.last_seen:.1f} s "
                                  "(host frozen, killed or cut off)")
                session.lost("heartbeat lost")
                return
        if self.plan is not None:
            self._stalled_direct(now)
            return
        feds = self.execution.federates
        waiting = [f for f in feds if f.pending is not None]
        stalled_for = now - self.last_progress
        if stalled_for <= self.grant_timeout:
            return
        pending_sync = self.execution.pending_synchronization_points()
        laggards = sorted(n for names in pending_sync.values() for n in names)
        if laggards:
            culprit = self.execution.federate_by_name(laggards[0])
            self.fail(culprit.handle, f"did not reach synchronization point within {self.grant_timeout:g} s")
        elif waiting:
            # The host's heartbeat says which federate it is stepping: blame that one first.
            def busy(f: Any) -> bool:
                session = self.sessions.get(f.handle)
                return session is not None and session.busy == f.handle

            idle = sorted((f for f in feds if f.pending is None), key=lambda f: (not busy(f), f.time, f.name))
            culprit = idle[0] if idle else min(waiting, key=lambda f: (f.time, f.name))
            what = "sent no time advance request" if idle else "is deadlocked waiting for a grant"
            self.fail(culprit.handle, f"{what} for {stalled_for:.1f} s (grant timeout {self.grant_timeout:g} s)")

    def _stalled_direct(self, now: float) -> None:
        """Direct routing: a member waits for a grant, and a sender it waits on has not advanced either, for the
        grant timeout. Each host grants from its own channels, so a stuck federate holds back only the members
        downstream of it while the others may run ahead: no federation-wide silence shows it. Blame the member
        holding the waiters back, up their stalled senders: one its host says it is stepping (there or anywhere
        stalled), else one that requested nothing, else (waiters waiting on each other) the one furthest behind."""
        plan = self.plan
        assert plan is not None

        def waiting(handle: int) -> bool:
            p = self.progress.get(handle)
            return p is not None and bool(p.waiting)

        stalled = {h for h in self.sessions if h in self.advanced and now - self.advanced[h] > self.grant_timeout}
        waiters = [h for h in stalled if waiting(h)]
        held: set[int] = set()
        while waiters:
            for sender in plan.senders.get(waiters.pop(), ()):
                if sender in stalled and sender not in held:
                    held.add(sender)
                    if waiting(sender):
                        waiters.append(sender)
        if not held and stalled and stalled == set(self.sessions) and any(waiting(h) for h in stalled):
            held = stalled  # nobody advanced at all while someone waits (a stall the plan does not explain)
        if not held:
            return

        def busy(handle: int) -> bool:
            session = self.sessions.get(handle)
            return session is not None and session.busy == handle

        def key(handle: int) -> tuple[bool, bool, int, str]:
            return (waiting(handle), not busy(handle), self.time_of(handle), self.names.get(handle, ""))

        # One stuck in its step holds back its host's other federates too: it may be the one to name.
        culprit = min(held | {h for h in stalled if busy(h)}, key=key)
        what = "is deadlocked waiting for a grant" if waiting(culprit) else "sent no time advance request"
        self.fail(culprit, f"{what} for {now - self.advanced[culprit]:.1f} s (grant timeout {self.grant_timeout:g} s)")
