"""The RTI's gRPC server on its own event-loop thread: `serve` starts it (behind the connection gate, if
asked) and the ServerHandle stops it from any thread."""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from concurrent import futures
from typing import Any, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from federation.protocol import pb, pb_grpc
from federation.security.guard import Guard

from federation.server.gate import Gate
from federation.server.limits import Limits
from federation.server.service import RTIService

log = logging.getLogger(__name__)


class ServerHandle:
    """An asyncio gRPC server run on its own event-loop thread (behind its connection gate, if any),
    stoppable from any thread. `port` is the one it listens on; `stop` also stops the service's
    watchdog and then closes what was handed over in `closers` (say, the audit log)."""

    def __init__(self, server: grpc.aio.Server, loop: asyncio.AbstractEventLoop, thread: threading.Thread,
                 gate: Gate | None = None, service: RTIService | None = None, port: int = 0,
                 stopping: threading.Event | None = None) -> None:
        self.server, self.loop, self.thread, self.gate = server, loop, thread, gate
        self.stopping = stopping or threading.Event()
        self.service, self.port = service, port
        self.address = ""  # HOST:PORT, the host as given to listen on
        self.closers: list[Callable[[], None]] = []

    def stop(self, grace: float | None = None) -> "Stopping":
        """Stop serving; `.wait()` on the result blocks until it has."""
        done: futures.Future[None] = futures.Future()
        gate = self.gate
        self.stopping.set()
        if self.service is not None:
            self.service.stop()
        if gate is not None:
            gate.stop_accepting()  # the calls under way still go through it during the grace period

        def _closed() -> None:
            if gate is not None:
                gate.close()
            for close in self.closers:
                close()
            self.closers = []

        async def _stop() -> None:
            try:
                await self.server.stop(grace)
            finally:
                self.loop.call_soon(self.loop.stop)
                try:
                    _closed()
                finally:
                    done.set_result(None)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(_stop(), self.loop)
        else:
            try:
                _closed()
            finally:
                done.set_result(None)
        return Stopping(done)


class Stopping:
    """A stop under way: `wait` blocks until the server has stopped."""

    def __init__(self, done: "futures.Future[None]") -> None:
        self._done = done

    def wait(self, timeout: float | None = None) -> None:
        self._done.result(timeout)


def _quiet_after_stop(stopping: threading.Event) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """The server loop's exception handler. grpc's aio poller may be woken once more after the server's stop
    closed its file descriptor (EBADF): that is its shutdown, not an error, and was printed as a traceback
    on stderr at exit. Anything else goes to asyncio's default handler."""
    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if stopping.is_set() and isinstance(exc, OSError) and exc.errno == errno.EBADF:
            log.debug("grpc's poller after the server stopped: %s", exc)
            return
        loop.default_exception_handler(context)
    return handler


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
    stopping = threading.Event()
    loop.set_exception_handler(_quiet_after_stop(stopping))
    thread = threading.Thread(target=loop.run_forever, name="rti-server", daemon=True)
    thread.start()

    async def _start() -> tuple[grpc.aio.Server, int]:
        # Admin and health are plain (threaded) handlers; only the session stream is async.
        server = grpc.aio.server(migration_thread_pool=futures.ThreadPoolExecutor(max_workers=max_workers),
                                 options=options, interceptors=interceptors)
        # Session takes raw bytes and decodes them itself (see checks.decode): with the generated
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
        service.stop()
        loop.call_soon_threadsafe(loop.stop)
        raise
    if not gate:
        handle = ServerHandle(server, loop, thread, service=service, port=port, stopping=stopping)
        handle.address = f"{listen.rpartition(':')[0]}:{port}"
        return handle, port, service
    front = Gate(port, limits, service.refusals)
    service.peer_of = front.real_peer
    handle = ServerHandle(server, loop, thread, front, service, stopping=stopping)
    try:
        port = handle.port = front.open(listen)
    except BaseException:
        handle.stop(0).wait(30)
        raise
    handle.address = f"{listen.rpartition(':')[0]}:{port}"
    return handle, port, service
