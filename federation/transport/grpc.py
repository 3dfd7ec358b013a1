"""Client side of the RTI protocol: one stream per host, a Transport per federate handle.

Updates and interactions are buffered and leave with the time advance request, so a
step costs one message up and one down; steps granted here share a write (outbox.py).
Replies are matched by request id; callbacks are queued per federate; a FederationFailed
from the RTI wakes every waiter.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Mapping

import grpc

from federation import telemetry
from federation.errors import FederationEnded, LinkLost
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import callback_from_pb, error_from_pb, failure_from_pb, fom_from_pb
from federation.rti import FOM, callbacks as cb

from federation.transport.ahead import AheadClock, GaltNotice
from federation.transport.outbox import HOLD, Outbox
from federation.rti.time import LogicalTime, to_seconds

log = logging.getLogger(__name__)


class NoReply(LinkLost, TimeoutError):
    """The RTI did not answer a request in time."""


class ConnectionLost(LinkLost):
    """The stream to the RTI ended without the RTI saying why."""


class SessionRefused(LinkLost):
    """The RTI refused this session for good (FAILED_PRECONDITION, PERMISSION_DENIED): no retry."""


_REFUSALS = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED)


class RTIConnection:
    """One long-lived bidirectional stream to the RTI, multiplexing a host's federates."""

    def __init__(
        self,
        target: str,
        federation: str,
        site: str,
        credentials: grpc.ChannelCredentials | None = None,
        heartbeat: float = 1.0,
        timeout: float = 30.0,
        metadata: tuple[tuple[str, str], ...] = (),
        hold: float = HOLD,
        scenario_digest: str = "",
        endpoint: str = "",
    ) -> None:
        options = [("grpc.keepalive_time_ms", 2000), ("grpc.keepalive_timeout_ms", 2000),
                   ("grpc.keepalive_permit_without_calls", 1), ("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        self.channel = (grpc.secure_channel(target, credentials, options) if credentials
                        else grpc.insecure_channel(target, options))
        self.site = site
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._outbox = Outbox(hold)
        self._replies: dict[int, Any] = {}
        self._inbox: dict[int, deque[Any]] = {}  # callbacks and GaltNotices
        self._ready: dict[int, None] = {}
        self._cond = self.cond = threading.Condition()
        self.failure: Exception | None = None
        self.ended: FederationEnded | None = None  # the RTI said the run ended where a model asked it to
        self.busy = 0  # federate handle being stepped, reported in heartbeats
        # Direct routing (transport/direct.py): what the RTI sends besides callbacks, and the host's own
        # ready federates and progress, all under this connection's lock.
        self.on_plan: Callable[[Any], None] | None = None
        self.on_relay: Callable[[Any], None] | None = None
        self.early: list[Any] = []  # plan and relayed messages that came before their handlers were set
        self.local_ready: Callable[[], list[int]] | None = None
        self.progress: Callable[[], dict[str, list[Any]]] | None = None  # Heartbeat fields: progress, heard
        self._closed = threading.Event()
        stub = pb_grpc.RTIStub(self.channel)
        self._stream = stub.Session(self._outbox.batches(_one), metadata=metadata)
        self._reader = threading.Thread(target=self._read, name="rti-reader", daemon=True)
        self._reader.start()
        self._heartbeat = heartbeat
        self._beater = threading.Thread(target=self._beat, name="rti-heartbeat", daemon=True)
        self._beater.start()
        welcome = self.call(hello=pb.Hello(federation=federation, site=site, scenario_digest=scenario_digest,
                                           endpoint=endpoint)).welcome
        self.fom: FOM = fom_from_pb(welcome.fom)
        self.start_time: LogicalTime = welcome.start_time

    # ----------------------------------------------------------- the stream
    def _read(self) -> None:
        try:
            for msg in self._stream:
                kind = msg.WhichOneof("body")
                with self._cond:
                    if kind == "callbacks":
                        handle = msg.callbacks.federate
                        box = self._inbox.setdefault(handle, deque())
                        box.extend(callback_from_pb(c) for c in msg.callbacks.items)
                        if msg.callbacks.has_galt:
                            box.append(GaltNotice(msg.callbacks.galt))
                        self._ready[handle] = None
                    elif kind == "failed":
                        self.failure = failure_from_pb(msg.failed)
                    elif kind == "ended":
                        self.ended = FederationEnded(msg.ended.federate, msg.ended.time, msg.ended.reason)
                        if msg.reply_to:
                            self._replies[msg.reply_to] = msg
                    elif kind in ("plan", "relay"):
                        handler = self.on_plan if kind == "plan" else self.on_relay
                        if handler is None:
                            self.early.append(msg)
                        else:
                            handler(getattr(msg, kind))
                    elif msg.reply_to:
                        self._replies[msg.reply_to] = msg
                    elif kind == "error":
                        self.failure = error_from_pb(msg.error)
                    self._cond.notify_all()
        except grpc.RpcError as exc:
            with self._cond:
                if self.failure is None and not self._closed.is_set():
                    code = exc.code() if hasattr(exc, "code") else None
                    details = exc.details() if hasattr(exc, "details") else str(exc)
                    # Refused for what it is (another scenario, no right): trying again cannot help.
                    lost = SessionRefused if code in _REFUSALS else ConnectionLost
                    self.failure = lost(f"RTI stream ended: {code.name if code else ''} {details}")
                self._cond.notify_all()
        else:
            with self._cond:
                if self.failure is None and not self._closed.is_set():
                    self.failure = ConnectionLost("the RTI closed the stream")
                self._cond.notify_all()

    def _beat(self) -> None:
        while not self._closed.wait(self._heartbeat):  # close() wakes it: it ends at once
            progress = self.progress
            report: dict[str, list[Any]] = {}
            if progress is not None:
                with self._cond:
                    report = progress()
            self.send(heartbeat=pb.Heartbeat(sent_at=time.time(), busy=self.busy, **report))

    def send(self, request_id: int = 0, held: bool = False, **body: Any) -> None:
        """Queue a message; `held` for a step granted here (see Outbox.put)."""
        self._outbox.put(pb.ClientMessage(protocol_version=PROTOCOL_VERSION, request_id=request_id, **body), held)

    def call(self, **body: Any) -> Any:
        """Send a request and wait for its reply; RTI errors come back as their typed exceptions."""
        rid = next(self._ids)
        self.send(rid, **body)
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while rid not in self._replies:
                if self.failure is not None:
                    raise self.failure
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoReply(f"no reply from the RTI within {self.timeout:g} s")
                self._cond.wait(left)
            reply = self._replies.pop(rid)
        kind = reply.WhichOneof("body")
        if kind == "error":
            raise error_from_pb(reply.error)
        if kind == "failed":
            raise failure_from_pb(reply.failed)
        if kind == "ended":
            assert self.ended is not None
            raise self.ended
        return reply

    # ------------------------------------------------------ callback delivery
    def take_ready(self, timeout: float) -> list[int]:
        """Federate handles with callbacks waiting; blocks up to `timeout` for the first one."""
        self.busy = 0
        local = self.local_ready
        with self._cond:
            # The end or failure is checked before anything is taken: what is ready stays for whoever drains after.
            if self.ended is not None or self.failure is not None:
                raise self.ended or self.failure  # type: ignore[misc]
            ready = list(self._ready)
            if local is not None:
                ready += local()
            if not ready:
                self._cond.wait(timeout)
                if self.ended is not None or self.failure is not None:
                    raise self.ended or self.failure  # type: ignore[misc]
                ready = list(self._ready)
                if local is not None:
                    ready += local()
            self._ready.clear()
            return list(dict.fromkeys(ready))

    def wait_failure(self, timeout: float) -> Exception | None:
        """The failure reported on this connection, waiting up to `timeout` for one; None if none came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.failure is None and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return self.failure

    def abort(self, handle: int, reason: str, name: str = "", timeout: float = 5.0,
              at: LogicalTime | None = None) -> None:
        """Tell the RTI that federate `handle` failed (0: federate `name`, before it joined), after
        everything sent before, and wait up to `timeout` for the federation's verdict. `at`: its
        logical time, which only the host knows with direct routing."""
        self.send(abort=pb.Abort(federate=handle, reason=reason, federate_name=name, has_time=at is not None,
                                 time=at or 0))
        self.wait_failure(timeout)

    def end(self, federate: str, at: LogicalTime, reason: str) -> None:
        """The coordinator's word that the run ended where federate `federate`'s model asked it to, at `at`
        (the recorder has every row up to it): the RTI tells every host, whose federates stop."""
        try:
            self.call(end=pb.Ended(federate=federate, time=at, reason=reason))
        except FederationEnded:
            pass  # the RTI's answer: it has told every host

    def mark_ready(self, handle: int) -> None:
        """Wake the host for a federate that has something to do without a message from the RTI."""
        with self._cond:
            self._ready[handle] = None
            self._cond.notify_all()

    def drain(self, handle: int) -> list[Any]:
        self.busy = handle  # the caller is about to act on these callbacks
        with self._cond:
            box = self._inbox.get(handle)
            if not box:
                return []
            out = list(box)
            box.clear()
            return out

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._outbox.close()
            self.channel.close()


class GrpcTransport:
    """The ambassador's Transport over an RTIConnection (shared by the host's federates)."""

    def __init__(self, connection: RTIConnection) -> None:
        self.conn = connection
        self._updates: dict[int, list[Any]] = {}
        self._interactions: dict[int, list[Any]] = {}
        self._names: dict[int, str] = {}
        self._clocks: dict[int, AheadClock] = {}
        self._requested: dict[int, int] = {}  # handle -> perf_counter_ns of its pending request
        self._rounds: dict[int, int] = {}
        self._started = time.perf_counter()
        m = telemetry.meter()
        self._latency = m.create_histogram("federation.grant_latency", unit="s",
                                           description="time from a time advance request to its grant")
        # Counted here, read by the exporter: no per-step cost on the hot path.
        m.create_observable_counter("federation.steps", [self._counts], unit="1", description="time advance grants")
        m.create_observable_gauge("federation.steps_per_second", [self._rates], unit="1/s",
                                  description="grants per wall-clock second since the session started")

    def _counts(self, _: Any) -> list[Any]:
        from opentelemetry.metrics import Observation

        return [Observation(n, {"federate": self._names.get(h, "")}) for h, n in self._rounds.items()]

    def _rates(self, _: Any) -> list[Any]:
        from opentelemetry.metrics import Observation

        elapsed = max(time.perf_counter() - self._started, 1e-9)
        return [Observation(n / elapsed, {"federate": self._names.get(h, "")}) for h, n in self._rounds.items()]

    @property
    def fom(self) -> FOM:
        return self.conn.fom

    def join(self, name: str, federate_type: str = "") -> int:
        handle: int = self.conn.call(join=pb.Join(federate_name=name, federate_type=federate_type)).joined.federate
        self._names[handle] = name
        self._clocks[handle] = AheadClock()
        self._rounds[handle] = 0
        self._updates[handle] = []
        self._interactions[handle] = []
        return handle

    def resign(self, handle: int) -> None:
        self._flush(handle, None)
        self.conn.call(resign=pb.Resign(federate=handle))

    def _declare(self, handle: int, kind: int, class_name: str, members: list[str] | None = None) -> None:
        self.conn.call(declare=pb.Declare(federate=handle, kind=kind, class_name=class_name, members=members or []))

    def publish_object_class_attributes(self, handle: int, class_name: str, attributes: list[str]) -> None:
        self._declare(handle, pb.Declare.PUBLISH_OBJECT, class_name, attributes)

    def subscribe_object_class_attributes(self, handle: int, class_name: str, attributes: list[str]) -> None:
        self._declare(handle, pb.Declare.SUBSCRIBE_OBJECT, class_name, attributes)

    def publish_interaction_class(self, handle: int, class_name: str) -> None:
        self._declare(handle, pb.Declare.PUBLISH_INTERACTION, class_name)

    def subscribe_interaction_class(self, handle: int, class_name: str) -> None:
        self._declare(handle, pb.Declare.SUBSCRIBE_INTERACTION, class_name)

    def register_object_instance(self, handle: int, class_name: str, name: str | None = None) -> int:
        reply = self.conn.call(register_object=pb.RegisterObject(federate=handle, class_name=class_name, object_name=name or ""))
        obj: int = reply.ack.object
        return obj

    def update_attribute_values(
        self, handle: int, object_handle: int, values: Mapping[int, float], timestamp: LogicalTime | None = None
    ) -> None:
        self._updates[handle].append(pb.AttributeUpdate(
            object=object_handle, attributes=list(values), values=list(values.values()),
            timestamped=timestamp is not None, timestamp=timestamp or 0))
        if timestamp is None:  # receive-order updates (initial values) go out at once
            self._flush(handle, None)

    def send_interaction(
        self, handle: int, class_name: str, parameters: Mapping[int, float], timestamp: LogicalTime | None = None
    ) -> None:
        self._interactions[handle].append(pb.InteractionSend(
            class_name=class_name, parameters=list(parameters), values=list(parameters.values()),
            timestamped=timestamp is not None, timestamp=timestamp or 0))

    def _flush(self, handle: int, request: Any, held: bool = False) -> None:
        updates, interactions = self._updates.get(handle), self._interactions.get(handle)
        if not updates and not interactions and request is None:
            return
        step = pb.Step(federate=handle, updates=updates or [], interactions=interactions or [], request=request)
        # No round trip: an error in a step comes back unsolicited and fails the next wait.
        self.conn.send(step=step, held=held)
        if updates:
            updates.clear()
        if interactions:
            interactions.clear()

    def enable_time_regulation(self, handle: int, lookahead: LogicalTime) -> None:
        self.conn.call(enable_time=pb.EnableTime(federate=handle, regulating=True, lookahead=lookahead))

    def enable_time_constrained(self, handle: int, latest_values: bool = False) -> None:
        self.conn.call(enable_time=pb.EnableTime(federate=handle, constrained=True, latest_values=latest_values))
        clock = self._clocks[handle]
        clock.constrained, clock.latest_values = True, latest_values

    def time_advance_request(self, handle: int, time: LogicalTime) -> None:
        self._requested[handle] = now_ns()
        here = self._clocks[handle].request(time)
        self._flush(handle, pb.TimeRequest(kind=pb.TimeRequest.TAR, time=time, granted_here=here), held=here)
        if here:
            self.conn.mark_ready(handle)  # granted here: see ahead.py

    def next_message_request(self, handle: int, time: LogicalTime) -> None:
        stop_at = self._clocks[handle].next_message(time)
        if stop_at is not None:  # a message held here comes first: that is a TAR to its time
            self.time_advance_request(handle, stop_at)
            return
        self._requested[handle] = now_ns()
        self._clocks[handle].request_from_rti()
        self._flush(handle, pb.TimeRequest(kind=pb.TimeRequest.NMR, time=time))

    def register_synchronization_point(
        self, handle: int, label: str, tag: str = "", members: list[str] | None = None
    ) -> None:
        self.conn.call(register_sync=pb.RegisterSync(federate=handle, label=label, tag=tag))

    def synchronization_point_achieved(self, handle: int, label: str) -> None:
        self._flush(handle, None)
        self.conn.call(sync_achieved=pb.SyncAchieved(federate=handle, label=label))

    def drain(self, handle: int) -> list[cb.Callback]:
        callbacks = self._clocks[handle].filter(self.conn.drain(handle))
        if callbacks and isinstance(callbacks[-1], cb.TimeAdvanceGrant) and handle in self._requested:
            self._granted(handle, callbacks[-1].time)
        return callbacks

    def drain_below_galt(self, handle: int) -> tuple[list[cb.Callback], LogicalTime | None]:
        """After a failure: what arrived, and every message held here below the RTI's last safe GALT."""
        clock = self._clocks[handle]
        out = clock.filter(self.conn.drain(handle))
        galt = clock.galt
        if galt is not None:
            out.extend(c for c in clock.early if c.timestamp is not None and c.timestamp < galt)
        return out, galt

    def _granted(self, handle: int, granted: LogicalTime) -> None:
        start = self._requested.pop(handle)
        end = now_ns()
        name = self._names.get(handle, "")
        self._rounds[handle] += 1
        if self._rounds[handle] % telemetry.LATENCY_SAMPLE == 1:
            self._latency.record((end - start) / 1e9, {"federate": name})
        if self._rounds[handle] % telemetry.ROUND_SAMPLE == 1:
            span = telemetry.tracer().start_span(
                "time-advance", start_time=start,
                attributes={"federate": name, "granted_time_s": to_seconds(granted), "round": self._rounds[handle]})
            span.end(end_time=end)


def _one(batch: list[Any]) -> Any:
    if len(batch) == 1:
        return batch[0]
    return pb.ClientMessage(protocol_version=PROTOCOL_VERSION, batch=pb.Batch(messages=batch))


def now_ns() -> int:
    return time.time_ns()
