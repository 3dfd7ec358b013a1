"""Server-side state of the RTI service: sessions, federations and the watchdog's failure rules.

Each federation has its own lock, so a failure or a bad client in one never touches another.
Kept apart from the gRPC plumbing (rti_service.py) so the rules can be exercised directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import grpc

from federation.clip import clip
from federation.errors import CarriesFields, RunFailure
from federation.protocol import pb
from federation.protocol.codec import callback_to_pb
from federation.rti import errors as E
from federation.rti.callbacks import TimeAdvanceGrant
from federation.rti.execution import FederationExecution
from federation.rti.time import to_seconds

log = logging.getLogger(__name__)

CLOSE = object()  # ends a session's writer


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 4 * 1024 * 1024
    heartbeat_timeout: float = 4.0  # s without any message from a host
    grant_timeout: float = 6.0  # s without a time advance while someone waits
    # A batch is applied in one go on the event loop every federation shares; real hosts send
    # at most 511 messages per batch (outbox.MAX_BATCH, plus at most one list of held steps).
    max_batch_messages: int = 4096
    # Updates and interactions in one message (a step, or all a batch's steps): a 4 MB step of
    # 200,000 tiny updates would hold the event loop for 0.7 s; 65,536 for some 0.2 s.
    max_message_items: int = 65536
    # Messages queued for a host that does not read its stream; beyond, its session is closed.
    max_queued_messages: int = 16384
    # One Callbacks message is split beyond this, well below the 64 MB gRPC send limit.
    max_callbacks_bytes: int = 16 * 1024 * 1024
    reap_after: float = 60.0  # s a finished or failed federation stays inspectable
    hello_timeout: float = 10.0  # s a session may stay open without saying hello
    max_name_length: int = 256  # characters in a federation, class or member name
    # The connection gate of `rti serve` (gate.py): open connections from one address (IPv6: one /64),
    # open connections in all, and seconds a new connection may stay silent.
    max_connections_per_address: int = 16
    max_connections: int = 1024
    silent_connection_timeout: float = 3.0


def with_limits(base: Limits, settings: list[str]) -> Limits:
    """`base` with NAME=VALUE settings applied (`rti serve --limit`); ValueError names a bad one."""
    kinds = {f.name: f.type for f in fields(Limits)}
    changes: dict[str, Any] = {}
    for text in settings:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or name not in kinds:
            raise ValueError(f"limit {text!r}: expected NAME=VALUE with NAME one of {', '.join(kinds)}")
        try:
            value: float | int = int(raw) if kinds[name] == "int" else float(raw)
        except ValueError:
            raise ValueError(f"limit {name}: {raw!r} is not {'an integer' if kinds[name] == 'int' else 'a number'}") from None
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"limit {name}: must be a finite number above 0, got {raw!r}")
        changes[name] = value
    return replace(base, **changes)


class ProtocolViolation(CarriesFields, RunFailure):
    """A client broke the protocol: its session is closed with this status."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class HostSession:
    peer: str
    site: str = ""
    federation: "FederationState | None" = None
    handles: set[int] = field(default_factory=set)
    # Outgoing messages, awaited by the session's writer on the server's event loop; without
    # a loop (a state driven directly, as in tests) they simply collect in `out`.
    loop: asyncio.AbstractEventLoop | None = None
    out: "asyncio.Queue[Any] | list[Any]" = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)
    abort: tuple[grpc.StatusCode, str] | None = None
    closed: bool = False
    trace_parent: Any = None  # the host's span context, from gRPC metadata
    busy: int = 0  # federate the host last reported stepping
    context: Any = None  # the session's gRPC context: the peer's client certificate
    loop_thread: int = 0
    writer: "asyncio.Future[Any] | None" = None  # cancelled when `out` overflows
    overflowed: str = ""  # why the session was closed for not reading, if it was

    def _put(self, item: Any) -> None:
        out = self.out
        if isinstance(out, list):
            out.append(item)
        elif self.loop is not None and threading.get_ident() != self.loop_thread:
            self.loop.call_soon_threadsafe(self._put_here, item)  # e.g. from the watchdog
        else:
            self._put_here(item)

    def _put_here(self, item: Any) -> None:
        assert isinstance(self.out, asyncio.Queue)
        if self.overflowed:
            return  # nobody writes any more
        try:
            self.out.put_nowait(item)
        except asyncio.QueueFull:
            # Never wait for a host that does not read: that would stall every federation.
            if item is CLOSE and self.abort is not None:
                reason = self.abort[1]  # a deliberate close (destroy, timeout): its reason stands
            else:
                reason = f"host does not read its stream: {self.out.maxsize} messages to it are queued unread"
                log.warning("closing session %s: %s", self.peer, reason)
                self.abort = (grpc.StatusCode.RESOURCE_EXHAUSTED, reason)
            self.closed, self.overflowed = True, reason
            if self.writer is not None:
                self.writer.cancel()

    def send(self, **body: Any) -> None:
        self._put(pb.ServerMessage(**body))

    def close(self, code: grpc.StatusCode | None = None, message: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.abort = (code, message) if code is not None else None
            self._put(CLOSE)


@dataclass
class Stats:
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
        self.failure: Any = None
        self.last_progress = time.monotonic()
        self.ended_at = 0.0  # monotonic time it finished or failed
        self.all_sessions: list[HostSession] = []
        self.scenario_digest = ""  # from CreateFederation: what every site's scenario must share

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
        items = [callback_to_pb(c) for c in drained if not (isinstance(c, TimeAdvanceGrant) and c.time in here)]
        session = self.sessions.get(handle)
        if session is None or not (items or (final and galt is not None)):
            return
        last = pb.Callbacks(federate=handle, items=items, has_galt=galt is not None, galt=galt or 0)
        if last.ByteSize() > self.max_callbacks_bytes:  # rare: sized item by item only then
            # Consecutive messages, in order, each below the bound (a single item never exceeds the
            # incoming message limit); the GALT goes with the last one, after every message it covers.
            chunks: list[list[Any]] = [[]]
            size = 0
            for item in items:
                n = item.ByteSize() + 6  # with its field tag and length prefix
                if chunks[-1] and size + n > self.max_callbacks_bytes:
                    chunks.append([])
                    size = 0
                chunks[-1].append(item)
                size += n
            for chunk in chunks[:-1]:
                session.send(callbacks=pb.Callbacks(federate=handle, items=chunk))
            last = pb.Callbacks(federate=handle, items=chunks[-1], has_galt=galt is not None, galt=galt or 0)
        session.send(callbacks=last)

    def finish(self) -> None:
        self.state, self.ended_at = "finished", time.monotonic()

    def fail(self, handle: int | None, reason: str, reported: bool = False, site: str = "", name: str = "") -> None:
        """Stop the federation, blaming `handle` (or, with none, federate `name` of `site`) at its logical time.

        `reported`: the reason is the federate's own error, shown as it is (see pb.Abort)."""
        if self.state != "running":
            return
        name = self.names.get(handle, "") if handle is not None else name
        host = self.sites.get(handle, site) if handle is not None else site
        t = self.execution.start_time
        if handle is not None:
            try:
                t = self.execution.federate(handle).time
            except E.RTIError:
                pass
        reason = clip(reason, 64 * 1024)
        if reported and not reason.startswith(f"federate {name!r}"):
            # Shown as it is only when it names the member the RTI blames: none may put its failure on another.
            reason = f"federate {name!r} on host {host!r} at t={to_seconds(t)} s: {reason}"
        self.state, self.ended_at = "failed", time.monotonic()
        self.failure = pb.FederationFailed(federate=name, host=host, time=t, reason=reason, reported=reported)
        # What lies below a member's safe GALT is final: ship it first, so that the recorder
        # can still write every row the federation completed.
        for member in self.execution.federates:
            if member.constrained and member.lookahead is None:
                try:
                    self._ship(member.handle, *self.execution.drain_below_galt(member.handle), final=True)
                except Exception:  # the failure notice must still go out to everyone
                    log.exception("could not ship the final messages of federate %r", member.name)
        log.error("federation %s failed: federate %r on host %r at t=%ss: %s", self.name, name, host, to_seconds(t),
                  clip(reason))
        for session in list(self.all_sessions):
            if not session.closed:
                session.send(failed=self.failure)

    def status(self) -> Any:
        now = time.monotonic()
        feds = []
        for f in sorted(self.execution.federates, key=lambda f: f.name):
            session = self.sessions.get(f.handle)
            st = self.stats.get(f.handle, Stats())
            feds.append(pb.FederateStatus(
                name=f.name, host=self.sites.get(f.handle, ""), time=f.time,
                pending=f.pending[0] if f.pending else "", pending_time=f.pending[1] if f.pending else 0,
                last_heartbeat_age_s=now - session.last_seen if session else 0.0,
                regulating=f.lookahead is not None, constrained=f.constrained, lookahead=f.lookahead or 0,
                messages_in=st.messages, bytes_in=st.bytes))
        reason = ""
        if self.failure is not None:
            fl = self.failure
            reason = fl.reason if fl.reported else f"federate {fl.federate!r} on host {fl.host!r} at t={to_seconds(fl.time)} s: {fl.reason}"
        return pb.FederationStatus(name=self.name, federates=feds, state=self.state, error=reason, failure=self.failure)

    def check_liveness(self, now: float, limits: Limits) -> None:
        """The watchdog's rules, run under the federation lock."""
        for session in self.all_sessions:
            # A session with no federate joined fails nobody when it goes silent: it is only closed.
            if not session.handles and not session.closed and now - session.last_seen > limits.heartbeat_timeout:
                session.close(grpc.StatusCode.UNAVAILABLE, f"no message or heartbeat for "
                                                           f"{now - session.last_seen:.1f} s and no federate joined")
        if self.state != "running":
            return
        for handle, session in sorted(self.sessions.items()):
            if now - session.last_seen > limits.heartbeat_timeout:
                self.fail(handle, f"no message or heartbeat for {now - session.last_seen:.1f} s "
                                  "(host frozen, killed or cut off)")
                session.close(grpc.StatusCode.UNAVAILABLE, "heartbeat lost")
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
