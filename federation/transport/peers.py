"""Host-to-host channels of a direct federation: the Peer service a host serves, and the streams it opens.

A sending host opens one stream per receiving site (`PeerLink`), or, for a site that accepts no
connection, hands its messages to the RTI to pass on (`RelayLink`). Messages queued while a stream
is busy leave merged as one: their updates in order, each sender's latest promise. The receiving
host's `PeerServer` checks who is calling (the client certificate's site, under TLS) and hands each
message to its `Inbound`, which routes and grants by the plan (transport/direct.py).
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import grpc

from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.rti.channels import Outgoing, PlanViolation
from federation.rti.callbacks import Values
from federation.rti.time import LogicalTime
from federation.security.certs import SiteCredentials
from federation.security.tls import channel_credentials, peer_channel_options, peer_server_credentials, peer_site

log = logging.getLogger(__name__)

KEEPALIVE = [("grpc.keepalive_time_ms", 2000), ("grpc.keepalive_timeout_ms", 2000),
             ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0),
             ("grpc.max_receive_message_length", 64 * 1024 * 1024)]
CLOSE_TIMEOUT = 10.0  # s a closing link waits for its last messages to be taken
SINK_ROOM = 4096  # shipments queued to such a site before its sender waits for room


class Inbound(Protocol):
    """Where a host's Peer service and relayed messages deliver."""

    def receive(self, from_site: str, message: Any) -> None:
        """Apply one channel message; PlanViolation for anything outside the routing plan."""

    def ended(self, from_site: str, reason: str | None) -> None:
        """The stream from `from_site` ended (`reason`: broken, or refused; None: closed by its sender)."""


Decoded = tuple[list[tuple[int, int, Values, LogicalTime | None]],
                list[tuple[int, int, Values, LogicalTime | None, int]], list[tuple[int, LogicalTime]]]


def decode(msg: Any) -> Decoded:
    """A ChannelMessage as the local RTI takes it; PlanViolation when handles and values do not pair up."""
    updates: list[tuple[int, int, Values, LogicalTime | None]] = []
    for u in msg.updates:
        if len(u.attributes) != len(u.values) or len(set(u.attributes)) != len(u.attributes):
            raise PlanViolation(f"an update from federate handle {u.sender} pairs {len(u.attributes)} attribute "
                                f"handles with {len(u.values)} values (or names one twice)")
        updates.append((u.sender, u.object, dict(zip(u.attributes, u.values)), u.timestamp if u.timestamped else None))
    interactions: list[tuple[int, int, Values, LogicalTime | None, int]] = []
    for i in msg.interactions:
        if len(i.parameters) != len(i.values) or len(set(i.parameters)) != len(i.parameters):
            raise PlanViolation(f"an interaction from federate handle {i.sender} pairs {len(i.parameters)} parameter "
                                f"handles with {len(i.values)} values (or names one twice)")
        interactions.append((i.sender, i.interaction_class, dict(zip(i.parameters, i.values)),
                             i.timestamp if i.timestamped else None, i.after))
    return updates, interactions, [(p.federate, p.time) for p in msg.promises]


def encode(outs: list[Outgoing]) -> Any:
    """Shipments for one site as one ChannelMessage: in order, each sender's last promise."""
    updates: list[Any] = []
    interactions: list[Any] = []
    promises: dict[int, LogicalTime] = {}
    for out in outs:
        before = len(updates)  # an interaction says how many of the message's updates were sent before it
        interactions += [pb.ChannelInteraction(sender=s, interaction_class=c, parameters=list(v),
                                               values=list(v.values()), timestamped=t is not None, timestamp=t or 0,
                                               after=before + n) for s, c, v, t, n in out.interactions]
        updates += [pb.ChannelUpdate(sender=s, object=o, attributes=list(v), values=list(v.values()),
                                     timestamped=t is not None, timestamp=t or 0) for s, o, v, t in out.updates]
        promises.update(out.promises)
    return pb.ChannelMessage(updates=updates, interactions=interactions,
                             promises=[pb.Promise(federate=h, time=t) for h, t in promises.items()])


class PeerServer(pb_grpc.PeerServicer):  # type: ignore[misc, name-defined]
    """A host's Peer service: streams from the sites that send to it, each checked and handed to `inbound`."""

    def __init__(self, federation: str, listen: str, creds: SiteCredentials | None, advertise: str | None = None,
                 max_streams: int = 64) -> None:
        self.federation = federation
        self.inbound: Inbound | None = None
        self._tls = creds is not None
        self._server = grpc.server(ThreadPoolExecutor(max_workers=max_streams, thread_name_prefix="peer"),
                                   options=KEEPALIVE + [("grpc.http2.min_ping_interval_without_data_ms", 1000)])
        pb_grpc.add_PeerServicer_to_server(self, self._server)
        port = (self._server.add_secure_port(listen, peer_server_credentials(creds)) if creds is not None
                else self._server.add_insecure_port(listen))
        host = listen.rpartition(":")[0]
        self.endpoint = advertise or f"{host}:{port}"
        self._server.start()

    def Channel(self, requests: Any, context: grpc.ServicerContext) -> Any:
        site = ""
        try:
            for msg in requests:
                if not site:
                    site = self._opened(msg, context)
                    continue
                inbound = self.inbound
                if inbound is None:
                    context.abort(grpc.StatusCode.FAILED_PRECONDITION, "this host has no routing plan yet")
                else:
                    inbound.receive(site, msg)
        except PlanViolation as exc:
            if self.inbound is not None and site:
                self.inbound.ended(site, f"refused: {exc}")
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except grpc.RpcError as exc:
            if site and self.inbound is not None:
                self.inbound.ended(site, f"stream broken ({exc.code().name if hasattr(exc, 'code') else exc})")
            raise
        except Exception as exc:  # a bug here must still close the channel's books
            if site and self.inbound is not None:
                self.inbound.ended(site, f"broken: {type(exc).__name__}: {exc}")
            raise
        if site and self.inbound is not None:
            self.inbound.ended(site, None if context.is_active() else "stream cancelled")
        return pb.ChannelEnd()

    def _opened(self, msg: Any, context: grpc.ServicerContext) -> str:
        """The sending site of a new stream, from its first message and (under TLS) its certificate."""
        if msg.protocol_version != PROTOCOL_VERSION:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"protocol version {msg.protocol_version} is not "
                          f"{PROTOCOL_VERSION}")
        if msg.federation != self.federation:
            context.abort(grpc.StatusCode.NOT_FOUND, f"this host serves federation {self.federation!r}, "
                          f"not {msg.federation!r}")
        site = msg.from_site
        if self._tls:
            certified = peer_site(context)
            if certified != site:
                log.warning("refused a stream from %s claiming site %r with the certificate of site %r",
                            context.peer(), site, certified)
                context.abort(grpc.StatusCode.PERMISSION_DENIED,
                              f"a stream claiming site {site!r} presented the certificate of site {certified!r}")
        if not site:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a channel's first message names no site")
        return str(site)

    def stop(self, grace: float = 1.0) -> None:
        self._server.stop(grace).wait(grace + 1)


class PeerLink:
    """This host's stream to one receiving site; `send` never blocks on the network.

    A `sink` is a site whose federates regulate nothing (the coordinator's recorder): on nobody's critical
    path. `wait_room` holds the sender back while SINK_ROOM shipments to any site are queued (a receiver
    holding many messages reads slowly, see DirectTransport.receive), which bounds memory at both ends and
    how far a federate with no input runs ahead of those it feeds.
    """

    def __init__(self, site: str, target: str, creds: SiteCredentials | None, opening: Any,
                 on_lost: Any, sink: bool = False) -> None:
        self.site, self.sink = site, sink
        self._room = threading.Condition()
        self._queued = 0
        self._broken = False
        self.messages = 0  # sent, after merging
        options = KEEPALIVE + (peer_channel_options(site) if creds is not None else [])
        self._channel = (grpc.secure_channel(target, channel_credentials(creds), options) if creds is not None
                         else grpc.insecure_channel(target, options))
        self._queue: queue.SimpleQueue[Outgoing | None] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._on_lost = on_lost
        self._opening = opening
        self._future = pb_grpc.PeerStub(self._channel).Channel.future(self._messages())
        self._future.add_done_callback(self._done)

    def send(self, out: Outgoing) -> None:
        with self._room:
            self._queued += 1
        self._queue.put(out)

    def wait_room(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Block (up to `timeout`) while SINK_ROOM shipments wait to leave; call it holding no lock."""
        with self._room:
            self._room.wait_for(lambda: self._queued < SINK_ROOM or self._closing.is_set() or self._broken, timeout)

    def _messages(self) -> Any:
        yield self._opening
        q = self._queue
        while (item := q.get()) is not None:
            batch = [item]
            last = False
            while not q.empty():
                more = q.get_nowait()
                if more is None:
                    last = True
                    break
                batch.append(more)
            with self._room:
                self._queued -= len(batch)
                self._room.notify_all()
            self.messages += 1
            yield encode(batch)
            if last:
                return

    def _done(self, future: Any) -> None:
        with self._room:
            self._broken = True
            self._room.notify_all()  # nobody waits for room on a stream that ended
        if future.cancelled() and self._closing.is_set():
            return
        exc = future.exception()
        if exc is not None:
            code = exc.code().name if hasattr(exc, "code") else type(exc).__name__
            details = exc.details() if hasattr(exc, "details") else str(exc)
            self._on_lost(self.site, f"stream to site {self.site!r} ended: {code} {details}")
        elif not self._closing.is_set():
            self._on_lost(self.site, f"site {self.site!r} closed its channel early")

    def finish(self) -> None:
        """End the stream once what is queued is sent, without waiting (`close` waits)."""
        if not self._closing.is_set():
            self._closing.set()
            with self._room:
                self._room.notify_all()  # a sender waiting for room goes on
            self._queue.put(None)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Send what is queued, end the stream, and wait (up to `timeout`) for the receiver to take it."""
        self.finish()
        try:
            self._future.result(timeout)
        except Exception:
            log.debug("channel to %s ended badly while closing", self.site, exc_info=True)
            self._future.cancel()
        self._channel.close()
        log.debug("channel to %s: %d messages", self.site, self.messages)


class RelayLink:
    """A channel through the RTI, for a site that accepts no connection (or this one, which opens none)."""

    def __init__(self, site: str, connection: Any) -> None:
        self.site, self._conn = site, connection

    def send(self, out: Outgoing) -> None:
        self._conn.send(relay=pb.Relay(to_site=self.site, message=encode([out])))

    sink = False

    def wait_room(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """The RTI session's own flow control applies."""

    def finish(self) -> None:
        """Nothing to end: the RTI session carries on."""

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Nothing to end: the RTI session carries on."""
