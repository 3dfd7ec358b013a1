"""A host's session: its one bidirectional stream to the RTI, and what the server queues to it.

The session is the service's edge: what the federation state hands it (callbacks, a failure) is
encoded into protocol messages here, with federation/protocol/codec.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc

from federation.errors import CarriesFields, FederationFailed, RunFailure
from federation.protocol import pb
from federation.protocol.codec import callback_to_pb, failure_to_pb
from federation.rti import callbacks as cb

if TYPE_CHECKING:
    from federation.server.federations import FederationState

log = logging.getLogger(__name__)

CLOSE = object()  # ends a session's writer


class ProtocolViolation(CarriesFields, RunFailure):
    """A client broke the protocol: its session is closed with this status."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class HostSession:
    """One host's stream: the site it speaks for, its federation and federates, and its outgoing queue."""

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
    endpoint: str = ""  # direct routing: HOST:PORT of the host's Peer service ("": it accepts no connection)

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

    def send_failure(self, failure: FederationFailed, reply_to: int = 0) -> None:
        """The federation's failure, to every session of it (or as the reply to a request)."""
        self.send(reply_to=reply_to, failed=failure_to_pb(failure))

    def send_callbacks(self, handle: int, callbacks: list[cb.Callback], galt: int | None, max_bytes: int) -> None:
        """Federate `handle`'s callbacks, then its GALT, in one message, or in order in several below `max_bytes`."""
        items = [callback_to_pb(c) for c in callbacks]
        last = pb.Callbacks(federate=handle, items=items, has_galt=galt is not None, galt=galt or 0)
        if last.ByteSize() > max_bytes:  # rare: sized item by item only then
            # Consecutive messages, in order, each below the bound (a single item never exceeds the
            # incoming message limit); the GALT goes with the last one, after every message it covers.
            chunks: list[list[Any]] = [[]]
            size = 0
            for item in items:
                n = item.ByteSize() + 6  # with its field tag and length prefix
                if chunks[-1] and size + n > max_bytes:
                    chunks.append([])
                    size = 0
                chunks[-1].append(item)
                size += n
            for chunk in chunks[:-1]:
                self.send(callbacks=pb.Callbacks(federate=handle, items=chunk))
            last = pb.Callbacks(federate=handle, items=chunks[-1], has_galt=galt is not None, galt=galt or 0)
        self.send(callbacks=last)

    def close(self, code: grpc.StatusCode | None = None, message: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.abort = (code, message) if code is not None else None
            self._put(CLOSE)

    def lost(self, reason: str) -> None:
        """Close a session whose host went silent (UNAVAILABLE: the host may come back on another)."""
        self.close(grpc.StatusCode.UNAVAILABLE, reason)
