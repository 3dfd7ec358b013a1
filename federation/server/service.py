"""The RTI as a gRPC service: the pure core behind one bidirectional stream per federate host.

Each federation execution has its own lock and state, so a failure or bad client in one
never touches another. A watchdog turns silence (no heartbeat, no time advance, a
synchronization point nobody completes) into a FederationFailed broadcast that names
the federate, its host and its logical time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from concurrent import futures
from typing import Any, AsyncIterator, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from federation import telemetry
from federation.clip import clip
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_from_pb, fom_to_pb
from federation.rti import RTI, errors as E
from federation.security.guard import AUDITED, Guard
from federation.security.refusals import RefusalLog
from federation.security.policy import PermissionDenied

from federation.server.gate import Gate
from federation.server.state import CLOSE, FederationState, HostSession, Limits, ProtocolViolation, Stats

log = logging.getLogger(__name__)


class RTIService(pb_grpc.RTIServicer, pb_grpc.AdminServicer):  # type: ignore[misc, name-defined]
    """Implements both the session service and the admin service over one RTI registry."""

    def __init__(self, limits: Limits | None = None, guard: Guard | None = None) -> None:
        self.limits = limits or Limits()
        self.guard = guard or Guard()
        self.rti = RTI()
        self.refusals = RefusalLog(log)
        # gRPC's peer string of a connection -> the client's address (the connection gate's map, if any)
        self.peer_of: Callable[[str], str] = lambda peer: peer
        self.federations: dict[str, FederationState] = {}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="rti-watchdog", daemon=True)
        self._watchdog.start()
        m = telemetry.meter()
        m.create_observable_counter("federation.messages", [lambda _: self._observe("messages")],
                                    unit="1", description="messages received per federate")
        m.create_observable_counter("federation.bytes", [lambda _: self._observe("bytes")],
                                    unit="By", description="bytes received per federate")

    def _observe(self, what: str) -> list[Any]:
        from opentelemetry.metrics import Observation

        with self.lock:
            states = list(self.federations.values())
        out = []
        for state in states:
            with state.lock:
                for handle, st in state.stats.items():
                    attrs = {"federation": state.name, "federate": state.names.get(handle, ""),
                             "site": state.sites.get(handle, "")}
                    out.append(Observation(getattr(st, what), attrs))
        return out

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ admin
    def CreateFederation(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check_version(request.protocol_version, context)
        site = self._admit(context, "create", request.name)
        if not (math.isfinite(request.grant_timeout_s) and request.grant_timeout_s >= 0):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"grant_timeout_s must be a finite number >= 0 (0 = the server's), got {request.grant_timeout_s}")
        try:
            _check_names(request, self.limits.max_name_length)
            fom = fom_from_pb(request.fom)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self.lock:
            old = self.federations.get(request.name)
            if old is not None:
                with old.lock:
                    # A finished or failed run's name is free again at once: re-running a scenario
                    # must not wait for the reaper. Its status goes with it.
                    if old.state != "running":
                        self._drop(old, f"federation execution {request.name!r} ({old.state}) was replaced "
                                        f"by a new one created by site {site!r}")
            try:
                execution = self.rti.create_federation_execution(request.name, fom, request.start_time)
            except E.FederationExecutionAlreadyExists as exc:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, str(exc))
            except (E.RTIError, ValueError) as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            state = FederationState(execution, request.grant_timeout_s or self.limits.grant_timeout,
                                    self.limits.max_callbacks_bytes)
            state.scenario_digest = request.scenario_digest
            self.federations[request.name] = state
        log.info("created federation %s", request.name)
        self.guard.record("create", federation=request.name, site=site)
        return state.status()

    def ListFederations(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            return pb.ListFederationsReply(names=sorted(self.guard.visible(context, list(self.federations))))

    def InspectFederation(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._admit(context, "inspect", request.name)
        state = self._federation(request.name, context)
        with state.lock:
            return state.status()

    def DestroyFederation(self, request: Any, context: grpc.ServicerContext) -> Any:
        site = self._admit(context, "destroy", request.name)
        state = self._federation(request.name, context)
        with self.lock, state.lock:
            if self.federations.get(request.name) is not state:  # reaped or replaced meanwhile
                context.abort(grpc.StatusCode.NOT_FOUND, f"federation execution {request.name!r} does not exist")
            try:
                self._drop(state, f"federation execution {request.name!r} was destroyed by site {site!r}",
                           force=state.state != "running")
            except E.FederatesCurrentlyJoined as exc:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        self.guard.record("destroy", federation=request.name, site=site)
        return pb.DestroyReply()

    def _drop(self, state: FederationState, reason: str, force: bool = True) -> None:
        """Forget a federation (under self.lock and its lock); its open sessions end ABORTED with `reason`."""
        self.rti.destroy_federation_execution(state.name, force=force)
        del self.federations[state.name]
        for session in state.all_sessions:
            session.close(grpc.StatusCode.ABORTED, reason)
        log.info("%s", reason)

    def _admit(self, context: grpc.ServicerContext, action: str, federation: str) -> str:
        """The admin caller's site, once the policy allows `action` on `federation` (else PERMISSION_DENIED)."""
        try:
            return self.guard.authorize_admin(context, action, federation)
        except PermissionDenied as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
            raise  # abort raises; this line keeps the type checker informed

    def _federation(self, name: str, context: grpc.ServicerContext) -> FederationState:
        with self.lock:
            state = self.federations.get(name)
        if state is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"federation execution {name!r} does not exist")
        assert state is not None
        return state

    def _check_version(self, version: int, context: grpc.ServicerContext) -> None:
        if version != PROTOCOL_VERSION:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"protocol version {version} is not supported; this RTI speaks version {PROTOCOL_VERSION}")

    # ---------------------------------------------------------------- session
    async def Session(self, request_iterator: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> None:
        # Reading and writing both run on the server's event loop: a message costs no thread hand-over.
        queue: asyncio.Queue[Any] = asyncio.Queue(self.limits.max_queued_messages)
        loop = asyncio.get_running_loop()
        session = HostSession(peer=self.peer_of(context.peer()), loop=loop, out=queue, loop_thread=threading.get_ident(),
                              context=context)
        session.trace_parent = telemetry.context_from(context.invocation_metadata())
        reader = asyncio.ensure_future(self._read(session, request_iterator))
        # A task of its own, so that a queue overflow can cancel a write the host never reads.
        writer = session.writer = asyncio.ensure_future(_write(queue, context))
        writer.add_done_callback(_take_error)
        hello_due = loop.call_later(self.limits.hello_timeout, self._hello_overdue, session)
        try:
            await asyncio.wait({writer})
            if not writer.cancelled():
                writer.result()  # a broken stream ends the call as before
        finally:
            hello_due.cancel()
            for task in (writer, reader):
                if not task.done():
                    task.cancel()
        if session.abort is not None:
            await context.abort(*session.abort)

    def _hello_overdue(self, session: HostSession) -> None:
        if session.federation is None:
            reason = f"no hello within {self.limits.hello_timeout:g} s of opening the session"
            self.refusals.refused(session.peer, f"session closed: {reason}")
            session.close(grpc.StatusCode.FAILED_PRECONDITION, reason)

    async def _read(self, session: HostSession, requests: AsyncIterator[Any]) -> None:
        reason = "stream closed by the host"
        try:
            async for message in requests:
                session.last_seen = time.monotonic()
                try:
                    decoded = _decode(message)
                    if (items := _items(decoded)) > self.limits.max_message_items:
                        raise ProtocolViolation(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                                f"a message of {items} updates and interactions exceeds the limit "
                                                f"of {self.limits.max_message_items} per message")
                    self._handle(session, decoded)
                except ProtocolViolation as exc:
                    self.refusals.refused(session.peer, f"session closed: {exc}")
                    reason = f"protocol violation: {exc}"
                    session.close(exc.code, str(exc))
                    break
                if session.closed:
                    break
                if decoded.WhichOneof("body") == "batch":
                    await asyncio.sleep(0)  # let other sessions in between one host's batches
        except asyncio.CancelledError:
            reason = "stream cancelled"
        except grpc.RpcError as exc:
            reason = f"stream broken ({exc.code().name if hasattr(exc, 'code') else exc})"
        except Exception as exc:  # a bug must not take the server down
            log.exception("session %s crashed", session.peer)
            reason = f"internal error: {exc}"
        finally:
            self._ended(session, session.overflowed or reason)

    def _ended(self, session: HostSession, reason: str) -> None:
        state = session.federation
        if state is not None:
            with state.lock:
                live = sorted(session.handles, key=lambda h: state.names.get(h, ""))
                if live:
                    state.fail(live[0], reason)
                for h in live:
                    state.sessions.pop(h, None)
                if session in state.all_sessions:
                    state.all_sessions.remove(session)
        session.close()

    def _handle(self, session: HostSession, msg: Any, flush: bool = True) -> None:
        if msg.protocol_version != PROTOCOL_VERSION:
            raise ProtocolViolation(grpc.StatusCode.FAILED_PRECONDITION,
                                    f"protocol version {msg.protocol_version} is not supported; "
                                    f"this RTI speaks version {PROTOCOL_VERSION}")
        kind = msg.WhichOneof("body")
        if kind is None:
            raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT, "empty message: no body set")
        if kind == "heartbeat":
            session.busy = msg.heartbeat.busy
            return
        if kind == "batch":
            n, limit = len(msg.batch.messages), self.limits.max_batch_messages
            if n > limit:
                raise ProtocolViolation(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                        f"a batch of {n} messages exceeds the limit of {limit} per batch")
            try:
                for inner in msg.batch.messages:
                    if inner.WhichOneof("body") == "batch":
                        raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT, "a batch inside a batch")
                    self._handle(session, inner, flush=False)
                    if session.closed:
                        return
            finally:
                if session.federation is not None:
                    with session.federation.lock:
                        session.federation.flush()  # one message per federate for the whole batch
            return
        if kind == "hello":
            self._hello(session, msg)
            return
        state = session.federation
        if state is None:
            raise ProtocolViolation(grpc.StatusCode.FAILED_PRECONDITION, f"{kind} before hello")
        with state.lock:
            if state.state != "running":
                session.send(reply_to=msg.request_id, failed=state.failure or pb.FederationFailed(reason=state.state))
                return
            try:
                reply = self._apply(session, state, kind, getattr(msg, kind), msg.ByteSize())
            except E.RTIError as exc:
                session.send(reply_to=msg.request_id, error=pb.Error(type=type(exc).__name__, message=str(exc)))
            else:
                if msg.request_id:
                    session.send(reply_to=msg.request_id, **reply)
                if kind in AUDITED:
                    self.guard.applied(kind, state.name, session.site, getattr(msg, kind), reply, state.names)
                # Only the last accepted resign finishes a federation: a rejected request (say, a
                # declare, or a resign of a federate nobody joined) leaves it open for those to come.
                if kind == "resign" and state.execution.empty and state.sessions == {}:
                    state.finish()
            if flush:
                state.flush()

    def _hello(self, session: HostSession, msg: Any) -> None:
        if session.federation is not None:
            raise ProtocolViolation(grpc.StatusCode.FAILED_PRECONDITION, "hello sent twice on one session")
        hello = msg.hello
        if self.guard.policy is not None:
            # Before the existence check: a site with no right in a federation must not learn whether it exists.
            session.site = self._session_site(session, hello)
        with self.lock:
            state = self.federations.get(hello.federation)
        if state is None:
            raise ProtocolViolation(grpc.StatusCode.NOT_FOUND, f"federation execution {hello.federation!r} does not exist")
        if not hello.site:
            raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT, "hello names no site")
        if not session.site:
            session.site = self._session_site(session, hello)
        if hello.scenario_digest and state.scenario_digest and hello.scenario_digest != state.scenario_digest:
            raise ProtocolViolation(grpc.StatusCode.FAILED_PRECONDITION, (
                f"site {session.site!r} runs another scenario than the one federation {hello.federation!r} was "
                "created with: their time, federates (sites, steps, expose lists), connections or "
                "interactions differ; every site needs the same copy (parameters may differ)"))
        session.federation = state
        with state.lock:
            state.all_sessions.append(session)
            session.send(reply_to=msg.request_id, welcome=pb.Welcome(
                protocol_version=PROTOCOL_VERSION, fom=fom_to_pb(state.execution.fom),
                start_time=state.execution.start_time))

    def _session_site(self, session: HostSession, hello: Any) -> str:
        try:
            return self.guard.authorize_session(session.context, hello.site, hello.federation, session.peer)
        except PermissionDenied as exc:
            raise ProtocolViolation(grpc.StatusCode.PERMISSION_DENIED, str(exc)) from None

    def _own(self, session: HostSession, state: FederationState, handle: int) -> int:
        if handle in session.handles:
            return handle
        if handle in state.sessions:
            raise ProtocolViolation(grpc.StatusCode.PERMISSION_DENIED,
                                    f"federate handle {handle} belongs to another host's session")
        raise E.FederateNotExecutionMember(f"federate handle {handle} is not joined to {state.name!r}")

    def _apply(self, session: HostSession, state: FederationState, kind: str, body: Any, size: int) -> dict[str, Any]:
        ex = state.execution
        if kind == "join":
            with telemetry.span("rti.join", session.trace_parent, federation=state.name,
                                federate=body.federate_name, site=session.site):
                self.guard.authorize_join(state.name, session.site, body.federate_name)
                handle = ex.join(body.federate_name, body.federate_type)
            session.handles.add(handle)
            state.sessions[handle] = session
            state.sites[handle] = session.site
            state.names[handle] = body.federate_name
            state.stats[handle] = Stats()
            return {"joined": pb.Joined(federate=handle)}
        if kind == "abort" and body.federate == 0:  # the host failed before any federate joined
            self.guard.authorize_join(state.name, session.site, body.federate_name)  # a site blames only its own
            state.fail(None, body.reason, reported=True, site=session.site, name=clip(body.federate_name, 256))
            return {"ack": pb.Ack()}
        handle = self._own(session, state, body.federate)
        stats = state.stats[handle]
        stats.messages += 1
        stats.bytes += size
        if kind == "step":
            for u in body.updates:
                values = _pairs(u.attributes, u.values, "attribute")
                ex.update_attribute_values(handle, u.object, values, u.timestamp if u.timestamped else None)
            for i in body.interactions:
                values = _pairs(i.parameters, i.values, "parameter")
                ex.send_interaction(handle, i.class_name, values, i.timestamp if i.timestamped else None)
            if body.HasField("request"):
                self._request(state, handle, body.request)
            return {"ack": pb.Ack()}
        if kind == "declare":
            self.guard.authorize_declare(state.name, session.site, state.names[handle], body.kind, body.class_name,
                                         list(body.members))
            k = pb.Declare
            if body.kind == k.PUBLISH_OBJECT:
                ex.publish_object_class_attributes(handle, body.class_name, list(body.members))
            elif body.kind == k.SUBSCRIBE_OBJECT:
                ex.subscribe_object_class_attributes(handle, body.class_name, list(body.members))
            elif body.kind == k.PUBLISH_INTERACTION:
                ex.publish_interaction_class(handle, body.class_name)
            elif body.kind == k.SUBSCRIBE_INTERACTION:
                ex.subscribe_interaction_class(handle, body.class_name)
            else:
                raise E.RTIError(f"declare kind {body.kind} is not defined")
            return {"ack": pb.Ack()}
        if kind == "register_object":
            obj = ex.register_object_instance(handle, body.class_name, body.object_name or None)
            return {"ack": pb.Ack(object=obj)}
        if kind == "enable_time":
            if body.regulating:
                ex.enable_time_regulation(handle, body.lookahead)
            if body.constrained:
                ex.enable_time_constrained(handle, body.latest_values)
            return {"ack": pb.Ack()}
        if kind == "register_sync":
            ex.register_synchronization_point(handle, body.label, body.tag)
            state.last_progress = time.monotonic()
            return {"ack": pb.Ack()}
        if kind == "sync_achieved":
            ex.synchronization_point_achieved(handle, body.label)
            return {"ack": pb.Ack()}
        if kind == "abort":
            # After this federate's last updates (same stream, in order): what it published stands.
            state.fail(handle, body.reason, reported=True)
            return {"ack": pb.Ack()}
        if kind == "resign":
            ex.resign(handle)
            session.handles.discard(handle)
            state.sessions.pop(handle, None)
            return {"ack": pb.Ack()}
        raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported message {kind!r}")

    def _request(self, state: FederationState, handle: int, request: Any) -> None:
        if request.kind == pb.TimeRequest.TAR:
            state.execution.time_advance_request(handle, request.time)
            if request.granted_here and state.execution.federate(handle).pending is None:
                state.granted_here.setdefault(handle, set()).add(request.time)  # a false claim gets the grant sent
        elif request.kind == pb.TimeRequest.NMR:
            state.execution.next_message_request(handle, request.time)
        else:
            raise E.RTIError(f"time request kind {request.kind} is not defined")
        state.last_progress = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            with self.lock:
                states = list(self.federations.values())
            now = time.monotonic()
            for state in states:
                with state.lock:
                    state.check_liveness(now, self.limits)
                    expired = state.state != "running" and now - state.ended_at > self.limits.reap_after
                if expired:
                    self._reap(state)

    def _reap(self, state: FederationState) -> None:
        with self.lock, state.lock:
            if self.federations.get(state.name) is state:  # not destroyed or replaced meanwhile
                self._drop(state, f"federation execution {state.name!r} was removed "
                                  f"{self.limits.reap_after:g} s after it {state.state}")


def _items(msg: Any) -> int:
    """The updates and interactions a message carries, in its batch too: the cost of applying it."""
    kind = msg.WhichOneof("body")
    if kind == "step":
        return len(msg.step.updates) + len(msg.step.interactions)
    if kind == "batch":
        return sum(_items(m) for m in msg.batch.messages)  # a nested batch is refused when applied
    return 0


def _take_error(task: "asyncio.Task[None]") -> None:
    """A write to a host that died may fail after its call ended: take the error, so that asyncio does
    not log it as "never retrieved" (the session's reader reports the host's end)."""
    if not task.cancelled():
        task.exception()


async def _write(queue: "asyncio.Queue[Any]", context: grpc.aio.ServicerContext) -> None:
    while (item := await queue.get()) is not CLOSE:
        await context.write(item)


def _check_names(request: Any, limit: int) -> None:
    """ValueError naming the first federation, class or member name that is empty, too long or not printable."""
    _check_name("federation name", request.name, limit)
    for kind, classes in (("object class", request.fom.object_classes),
                          ("interaction class", request.fom.interaction_classes)):
        for c in classes:
            _check_name(kind, c.name, limit)
            for member in c.members:
                _check_name(f"member of {kind} {c.name!r}", member, limit)


def _check_name(what: str, name: str, limit: int) -> None:
    if not name:
        raise ValueError(f"{what} is empty")
    if len(name) > limit:
        raise ValueError(f"{what} {name[:40]!r}... is {len(name)} characters long, over the limit of {limit}")
    bad = [c for c in name if not c.isprintable()]
    if bad:
        raise ValueError(f"{what} {name!r} contains the unprintable character {bad[0]!r}")


def _decode(raw: Any) -> Any:
    """Parse one ClientMessage; undecodable bytes are the client's fault (INVALID_ARGUMENT), not ours."""
    if not isinstance(raw, (bytes, bytearray)):
        return raw  # already a message (the servicer used with the generated deserializer)
    try:
        return pb.ClientMessage.FromString(bytes(raw))
    except Exception as exc:  # DecodeError, or a bad UTF-8 string field
        raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT,
                                f"malformed ClientMessage ({len(raw)} bytes) could not be decoded: {exc}") from None


def _pairs(handles: Any, values: Any, what: str) -> dict[int, float]:
    if len(handles) != len(values):
        raise E.RTIError(f"{len(handles)} {what} handles but {len(values)} values")
    if len(set(handles)) != len(handles):
        raise E.RTIError(f"an {what} handle appears twice in one update")
    return dict(zip(handles, values))


class ServerHandle:
    """An asyncio gRPC server run on its own event-loop thread (behind its connection gate, if any),
    stoppable from any thread."""

    def __init__(self, server: grpc.aio.Server, loop: asyncio.AbstractEventLoop, thread: threading.Thread,
                 gate: Gate | None = None) -> None:
        self.server, self.loop, self.thread, self.gate = server, loop, thread, gate

    def stop(self, grace: float | None = None) -> "Stopping":
        """Stop serving; `.wait()` on the result blocks until it has."""
        done: futures.Future[None] = futures.Future()
        gate = self.gate
        if gate is not None:
            gate.stop_accepting()  # the calls under way still go through it during the grace period

        async def _stop() -> None:
            try:
                await self.server.stop(grace)
            finally:
                self.loop.call_soon(self.loop.stop)
                if gate is not None:
                    gate.close()
                done.set_result(None)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(_stop(), self.loop)
        else:
            if gate is not None:
                gate.close()
            done.set_result(None)
        return Stopping(done)


class Stopping:
    def __init__(self, done: "futures.Future[None]") -> None:
        self._done = done

    def wait(self, timeout: float | None = None) -> None:
        self._done.result(timeout)


def serve(listen: str, limits: Limits | None = None, credentials: grpc.ServerCredentials | None = None,
          max_workers: int = 16, guard: Guard | None = None,
          interceptors: tuple[grpc.aio.ServerInterceptor, ...] = (),
          gate: bool = False) -> tuple[ServerHandle, int, RTIService]:
    """Start the RTI, admin and health services on a background event loop; returns the server and its port.

    `gate`: gRPC listens on 127.0.0.1 only, behind a connection gate (gate.py) on `listen` that caps
    open connections per peer address and in all; the service still logs each client's own address."""
    limits = limits or Limits()
    options = [
        ("grpc.max_receive_message_length", limits.max_message_bytes),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 2000),
        ("grpc.keepalive_timeout_ms", 2000),
        ("grpc.http2.min_ping_interval_without_data_ms", 1000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.so_reuseport", 0),
        ("grpc.server_handshake_timeout_ms", 3000),
    ]
    service = RTIService(limits, guard)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="rti-server", daemon=True)
    thread.start()

    async def _start() -> tuple[grpc.aio.Server, int]:
        # Admin and health are plain (threaded) handlers; only the session stream is async.
        server = grpc.aio.server(migration_thread_pool=futures.ThreadPoolExecutor(max_workers=max_workers),
                                 options=options, interceptors=interceptors)
        # Session takes raw bytes and decodes them itself (see _decode): with the generated
        # deserializer, garbage ends the stream as INTERNAL "Exception deserializing request!".
        session_handlers = {"Session": grpc.stream_stream_rpc_method_handler(
            service.Session, request_deserializer=None, response_serializer=pb.ServerMessage.SerializeToString)}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("federation.v1.RTI", session_handlers),))
        pb_grpc.add_AdminServicer_to_server(service, server)
        health_servicer = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        bind = "127.0.0.1:0" if gate else listen
        port = server.add_secure_port(bind, credentials) if credentials else server.add_insecure_port(bind)
        if port == 0:
            raise OSError(f"cannot listen on {bind}")
        await server.start()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_servicer.set("federation.v1.RTI", health_pb2.HealthCheckResponse.SERVING)
        return server, port

    try:
        server, port = asyncio.run_coroutine_threadsafe(_start(), loop).result(30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        raise
    if not gate:
        return ServerHandle(server, loop, thread), port, service
    front = Gate(port, limits, service.refusals)
    service.peer_of = front.real_peer
    handle = ServerHandle(server, loop, thread, front)
    try:
        port = front.open(listen)
    except BaseException:
        handle.stop(0).wait(30)
        raise
    return handle, port, service
