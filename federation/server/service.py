"""The RTI as a gRPC service: the pure core behind one bidirectional stream per federate host.

Each message a host sends is checked (checks.py), applied to its federation's execution under
that federation's lock, and answered on the host's session. The registry, the admin calls and the
watchdog that turns silence into a FederationFailed naming the federate, its host and its logical
time are in admin.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, AsyncIterator

import grpc

from federation import telemetry
from federation.clip import clip
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import failure_to_pb, fom_to_pb
from federation.rti import errors as E
from federation.security.guard import AUDITED
from federation.security.plans import sign_plan
from federation.security.policy import PermissionDenied

from federation.server.admin import AdminService
from federation.server.checks import decode, message_items, pairs
from federation.server.federations import LOST_GRACE, FederationState, Stats
from federation.server.sessions import CLOSE, HostSession, ProtocolViolation

log = logging.getLogger(__name__)

LINK_GRACE = 1.0  # s a lost channel waits before it is blamed: a host that died is named by its own session


class RTIService(AdminService, pb_grpc.RTIServicer):  # type: ignore[misc, name-defined]
    """The session service (one bidirectional stream per host) beside the admin service, over one registry."""

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
                    decoded = decode(message)
                    if (items := message_items(decoded)) > self.limits.max_message_items:
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
                if live and state.plan is not None:  # its peers may say how far it had come: hear them first
                    state.lose(live[0], reason, LOST_GRACE)
                elif live:
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
            if (msg.heartbeat.progress or msg.heartbeat.heard) and session.federation is not None:
                with session.federation.lock:
                    session.federation.report_progress(msg.heartbeat.progress, session.handles)
                    session.federation.hear_promises(msg.heartbeat.heard, session.handles, session.site)
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
                if state.ended is not None:  # it ended where a model asked it to: whatever comes now is moot
                    session.send(reply_to=msg.request_id, ended=state.ended)
                    return
                if kind == "end" and state.failure is None:  # every member resigned meanwhile: nothing to stop
                    session.send(reply_to=msg.request_id, ack=pb.Ack())
                    return
                session.send(reply_to=msg.request_id, failed=failure_to_pb(state.failure) if state.failure is not None
                             else pb.FederationFailed(reason=state.state))
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
        session.endpoint = hello.endpoint
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
        if kind == "relay":
            self._relay(session, state, body)
            return {}
        if kind == "peer_lost":
            self._peer_lost(session, state, body)
            return {"ack": pb.Ack()}
        if kind == "end":
            self.guard.authorize_end(state.name, session.site)
            state.end(body)
            return {"ended": state.ended}
        if kind == "abort" and body.federate == 0:  # the host failed before any federate joined
            self.guard.authorize_join(state.name, session.site, body.federate_name)  # a site blames only its own
            state.fail(None, body.reason, reported=True, site=session.site, name=clip(body.federate_name, 256))
            return {"ack": pb.Ack()}
        handle = self._own(session, state, body.federate)
        stats = state.stats[handle]
        stats.messages += 1
        stats.bytes += size
        if state.plan is not None and kind in ("step", "declare", "register_object", "enable_time"):
            if kind != "step" or body.updates or body.interactions or body.HasField("request"):
                raise E.RTIError(f"federation {state.name!r} routes directly: its hosts exchange data and grant time "
                                 f"themselves by its routing plan, and its declarations are fixed ({kind} refused)")
        if kind == "step":
            for u in body.updates:
                values = pairs(u.attributes, u.values, "attribute")
                ex.update_attribute_values(handle, u.object, values, u.timestamp if u.timestamped else None)
            for i in body.interactions:
                values = pairs(i.parameters, i.values, "parameter")
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
            if state.routing == "direct" and state.plan is None and body.label not in ex.pending_synchronization_points():
                self._send_plan(state)  # ahead of the synchronization it goes with (flushed after this)
            return {"ack": pb.Ack()}
        if kind == "abort":
            # After this federate's last updates (same stream, in order): what it published stands.
            # Direct routing: the host knows its federate's time (the core no longer tracks it); relay: the core does.
            state.fail(handle, body.reason, reported=True,
                       at=body.time if body.has_time and state.plan is not None else None)
            return {"ack": pb.Ack()}
        if kind == "resign":
            ex.resign(handle)
            session.handles.discard(handle)
            state.sessions.pop(handle, None)
            return {"ack": pb.Ack()}
        raise ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported message {kind!r}")

    def _send_plan(self, state: FederationState) -> None:
        """Direct routing: every member has declared and synchronized. Fix the routing plan, sign it, and send it
        to every host; from now on they route and grant by it."""
        plan = state.plan = state.direct_plan()
        data = plan.to_json()
        signer = self.guard.signer
        signed = pb.SignedPlan(plan=data, signature=b"" if signer is None else sign_plan(signer, data),
                               signer_pem="" if signer is None else signer.pem)
        for session in state.all_sessions:
            if not session.closed:
                session.send(plan=signed)
        self.guard.record("routing_plan", federation=state.name, digest=plan.digest,
                          sites=sorted(plan.endpoints), relay_sites=sorted(plan.relay_sites))
        log.info("federation %s routes directly by plan %s", state.name, plan.digest[:12])

    def _relay(self, session: HostSession, state: FederationState, body: Any) -> None:
        """Pass a channel message on to a site that cannot be reached directly, if the plan has that channel."""
        plan, to = state.plan, body.to_site
        if plan is None:
            raise E.RTIError(f"federation {state.name!r} has no routing plan: there is no channel to relay")
        if (session.site, to) not in plan.channels or not plan.relayed(session.site, to):
            raise ProtocolViolation(grpc.StatusCode.PERMISSION_DENIED,
                                    f"site {session.site!r} may not relay to site {to!r}: the routing plan has no "
                                    "such relayed channel")
        target = next((s for s in state.all_sessions if s.site == to and not s.closed), None)
        if target is not None:  # else its session ended, and that failed the federation
            body.message.from_site = session.site
            target.send(relay=body)

    def _peer_lost(self, session: HostSession, state: FederationState, body: Any) -> None:
        """A host lost its channel with another, or refused what came on it. A killed host's own session usually
        ends at the same moment and names it better: the link is blamed only if nothing else failed the federation
        within LINK_GRACE. The other site is blamed (the reporter, if it names no site of the federation): its
        federate the report names, else its first by name."""
        plan = state.plan
        linked = plan is not None and ((body.site, session.site) in plan.channels or
                                       (session.site, body.site) in plan.channels)
        peer = body.site if linked else session.site  # a site shares no channel with it: it blames only itself
        said = clip(body.reason, 64 * 1024)
        reason = said if said.startswith(f"site {session.site!r} ") else \
            f"site {session.site!r} lost its channel with site {body.site!r}: {said}"
        joined = {f.handle for f in state.execution.federates}
        members = sorted((h for h, s in state.sites.items() if s == peer and h in joined), key=lambda h: state.names[h])
        named = [h for h in members if f"federate {state.names[h]!r} of site {peer!r}" in said]
        culprit = (named or members)[0] if members else None
        state.lose(culprit, reason, LINK_GRACE, site="" if culprit is not None else peer)

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


def _take_error(task: "asyncio.Task[None]") -> None:
    """A write to a host that died may fail after its call ended: take the error, so that asyncio does
    not log it as "never retrieved" (the session's reader reports the host's end)."""
    if not task.cancelled():
        task.exception()


async def _write(queue: "asyncio.Queue[Any]", context: grpc.aio.ServicerContext) -> None:
    while (item := await queue.get()) is not CLOSE:
        await context.write(item)
