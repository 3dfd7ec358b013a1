"""The connection gate: a TCP front of the RTI's gRPC server that caps open connections per peer address.

gRPC's Python server offers no hook at accept time, so one client could hold every descriptor
of the RTI with idle connections. The gate accepts on the public address instead, before gRPC
does, and:

- refuses (closes at once) a connection beyond `max_connections_per_address` open ones from its
  address (an IPv6 peer counts per /64, which one machine usually holds whole) or beyond
  `max_connections` in all, and logs the refusal through the service's RefusalLog (one line per
  address per interval);
- closes a connection that sends nothing within `silent_connection_timeout` seconds (every gRPC
  client speaks first: a TLS ClientHello or the HTTP/2 preface); until its first byte a
  connection costs gRPC nothing;
- otherwise relays bytes both ways, unchanged, to the gRPC server bound on 127.0.0.1. TLS still
  ends in gRPC, so client certificates, the policy and the audit see what they saw before.

gRPC sees each relayed connection as coming from the gate's own loopback port; `real_peer` maps
that port back to the client's address, for the service's logs and audit.

The relay runs on an asyncio event loop of its own thread, with protocols (no stream layer):
a read costs one recv and one send, and flow control pauses a side whose other side does
not drain.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
import time
from concurrent import futures
from typing import Any

from federation.security.refusals import RefusalLog

from federation.server.limits import Limits
from federation.server.sockets import address_key, bind, connection_budget, linger_zero, peer_string, reset

log = logging.getLogger(__name__)

ACCEPTS_PER_WAKE = 128  # connections taken from the backlog per readiness event
_OUT_OF_DESCRIPTORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class _Side(asyncio.Protocol):
    """One socket of a relayed connection: what it reads goes to the other side, unchanged."""

    def __init__(self, relay: "_Relay") -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.other: "_Side" = self
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.relay.open += 1
        transport.pause_reading()  # until the other side exists too (_Relay.start)

    def data_received(self, data: bytes) -> None:
        assert self.other.transport is not None
        self.other.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True  # half-close: pass it on, keep the other direction open
        other = self.other.transport
        if other is not None and not other.is_closing():
            other.write_eof()
        if self.other.eof:
            self.relay.close()
        return True

    def pause_writing(self) -> None:  # the other side sends faster than this one's peer reads
        if self.other.transport is not None:
            self.other.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.other.transport is not None and not self.other.transport.is_closing():
            self.other.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.lost(self, exc)


class _Relay:
    """A client's connection and the gate's connection to gRPC for it."""

    def __init__(self, gate: "Gate", key: str, peer: str) -> None:
        self.gate, self.key, self.peer = gate, key, peer
        self.client, self.upstream = _Side(self), _Side(self)
        self.client.other, self.upstream.other = self.upstream, self.client
        self.port = 0  # the gate's loopback port towards gRPC, once bound
        self.open = 0  # transports made and not yet lost
        self.starting = True
        self.done = False

    async def start(self, sock: socket.socket, upstream: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            up.setblocking(False)
            up.bind(("127.0.0.1", 0))
            self.port = up.getsockname()[1]
            self.gate.peers[self.port] = self.peer  # before gRPC can see the connection
            await loop.sock_connect(up, upstream)
            await loop.create_connection(lambda: self.upstream, sock=up)
        except BaseException:
            self.starting = False
            up.close()
            reset(sock)
            self.finish()
            raise
        try:
            await loop.connect_accepted_socket(lambda: self.client, sock)
        except BaseException:
            reset(sock)
            self.close()
            raise
        finally:
            self.starting = False
            if self.open == 0:
                self.finish()
        up_t, client_t = self.upstream.transport, self.client.transport
        assert up_t is not None and client_t is not None
        if up_t.is_closing() or client_t.is_closing():  # one side went while the other was being made
            self.close()
        else:
            up_t.resume_reading()
            client_t.resume_reading()

    def lost(self, side: _Side, exc: Exception | None) -> None:
        """One side closed: close the other (after what it still has to send; at once after a reset)."""
        other = side.other.transport
        if other is not None and not other.is_closing():
            if isinstance(exc, OSError):  # a reset (or a broken socket): the other side gets a reset too
                linger_zero(other.get_extra_info("socket"))
                other.abort()
            else:
                other.close()
        self.open -= 1
        if self.open == 0 and not self.starting:
            self.finish()

    def close(self) -> None:
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.transport.is_closing():
                side.transport.close()

    def abort(self) -> None:
        for side in (self.client, self.upstream):
            if side.transport is not None:
                side.transport.abort()

    def finish(self) -> None:
        if not self.done:
            self.done = True
            self.gate.peers.pop(self.port, None)
            self.gate.forget(self)


class Gate:
    """Accepts on a public address, enforces the connection caps and relays to gRPC on 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int, limits: Limits, refusals: RefusalLog) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.per_address = limits.max_connections_per_address
        self.total = limits.max_connections
        self.silence = limits.silent_connection_timeout
        self.refusals = refusals
        self.peers: dict[int, str] = {}  # the gate's upstream port -> the client's peer string
        self.counts: dict[str, int] = {}  # address key -> open connections
        self.open_connections = 0
        self.relays: set[_Relay] = set()
        self.waiting: dict[socket.socket, asyncio.TimerHandle] = {}  # accepted, nothing received yet
        self.tasks: set[asyncio.Task[None]] = set()
        self.listeners: list[socket.socket] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="rti-gate", daemon=True)
        self._starved_until = 0.0

    # ------------------------------------------------------------------ any thread
    def open(self, listen: str) -> int:
        """Listen on HOST:PORT; returns the port. OSError when it cannot."""
        self.listeners = bind(listen)
        budget = connection_budget(self.total)
        if budget < self.total:
            log.warning("the descriptor limit (ulimit -n) allows %d open connections, not max_connections=%d: "
                        "the gate caps them at %d", budget, self.total, budget)
            self.total = budget
        self.thread.start()
        self._call(self._listen)
        return self.listeners[0].getsockname()[1]

    def real_peer(self, peer: str) -> str:
        """The client behind gRPC's peer string of a relayed connection; other peers as they are."""
        kind, _, rest = peer.partition(":")
        host, _, port = rest.rpartition(":")
        if kind == "ipv4" and host == "127.0.0.1" and port.isdigit():
            return self.peers.get(int(port), peer)
        return peer

    def stop_accepting(self) -> None:
        if self.thread.is_alive():
            self._call(self._unlisten)

    def close(self) -> None:
        """Stop accepting, drop every connection, stop the gate's thread; every descriptor is closed."""
        if self.thread.is_alive():
            self._call(self._close_all)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        for s in self.listeners:
            s.close()
        if not self.loop.is_running():
            self.loop.close()

    def _call(self, fn: Any) -> None:
        done: futures.Future[None] = futures.Future()

        def run() -> None:
            try:
                fn()
                done.set_result(None)
            except BaseException as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        done.result(30)

    # ------------------------------------------------------------ the gate's thread
    def _listen(self) -> None:
        for s in self.listeners:
            self.loop.add_reader(s.fileno(), self._accept, s)

    def _unlisten(self) -> None:
        for s in self.listeners:
            if s.fileno() >= 0:
                self.loop.remove_reader(s.fileno())

    def _close_all(self) -> None:
        self._unlisten()
        for s in self.listeners:
            s.close()
        for sock, timer in list(self.waiting.items()):
            timer.cancel()
            self._drop_waiting(sock)
        for task in list(self.tasks):
            task.cancel()
        for relay in list(self.relays):
            relay.abort()

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_DESCRIPTORS:
                    self._starved(listener, exc)
                return  # e.g. ECONNABORTED: the next wake-up goes on
            peer, key = peer_string(address), address_key(address)
            count = self.counts.get(key, 0)
            if count >= self.per_address:
                self.refusals.refused(peer, f"connection closed: {count} connections from {key} are open, "
                                            f"its cap (limit max_connections_per_address={self.per_address})")
                reset(sock)
                continue
            if self.open_connections >= self.total:
                self.refusals.refused(peer, f"connection closed: the RTI holds {self.open_connections} open "
                                            f"connections, its cap (limit max_connections={self.total})")
                reset(sock)
                continue
            self.counts[key] = count + 1
            self.open_connections += 1
            sock.setblocking(False)
            self.waiting[sock] = self.loop.call_later(self.silence, self._silent, sock, peer, key)
            self.loop.add_reader(sock.fileno(), self._first_bytes, sock, peer, key)

    def _starved(self, listener: socket.socket, exc: OSError) -> None:
        """Out of descriptors: stop accepting for a second (the backlog waits), say so once a minute."""
        now = time.monotonic()
        if now >= self._starved_until:
            log.warning("cannot accept connections: %s; pausing for 1 s (see ulimit -n)", exc.strerror)
            self._starved_until = now + 60
        self.loop.remove_reader(listener.fileno())
        self.loop.call_later(1.0, self._resume_accepting, listener)

    def _resume_accepting(self, listener: socket.socket) -> None:
        if listener.fileno() >= 0:
            self.loop.add_reader(listener.fileno(), self._accept, listener)

    def _drop_waiting(self, sock: socket.socket) -> None:
        self.loop.remove_reader(sock.fileno())
        del self.waiting[sock]
        reset(sock)

    def _silent(self, sock: socket.socket, peer: str, key: str) -> None:
        self.refusals.refused(peer, f"connection closed: it sent nothing within {self.silence:g} s "
                                    "(limit silent_connection_timeout)")
        self._drop_waiting(sock)
        self._release(key)

    def _first_bytes(self, sock: socket.socket, peer: str, key: str) -> None:
        self.waiting.pop(sock).cancel()
        self.loop.remove_reader(sock.fileno())
        try:
            gone = sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            gone = False
        except OSError:  # reset before it said anything
            gone = True
        if gone:
            reset(sock)
            self._release(key)
            return
        relay = _Relay(self, key, peer)
        self.relays.add(relay)
        task = self.loop.create_task(relay.start(sock, self.upstream))
        self.tasks.add(task)
        task.add_done_callback(self._started)

    def _started(self, task: "asyncio.Task[None]") -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.debug("could not relay a connection to the RTI's server: %s", exc)

    def forget(self, relay: _Relay) -> None:
        if relay in self.relays:
            self.relays.remove(relay)
            self._release(relay.key)

    def _release(self, key: str) -> None:
        self.open_connections -= 1
        left = self.counts[key] - 1
        if left:
            self.counts[key] = left
        else:
            del self.counts[key]
