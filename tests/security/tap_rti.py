"""A tapped RTI for the exposure test: `federation rti serve` plus a record of every request byte received.

Usage: python tap_rti.py OUT_FILE. Prints "RTI listening on HOST:PORT"; on SIGTERM writes OUT_FILE as
records of (1 byte: S for session stream, U for unary admin call, 4 bytes length, message bytes).
It runs in its own process: forking host processes from a process serving gRPC can abort them.
"""

from __future__ import annotations

import logging
import signal
import struct
import sys
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable

import grpc

from federation.server.serving import serve


class Tap(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Records every request byte the RTI receives, on every method (session streams and admin calls)."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, bytes]] = []  # (b"S" | b"U", message bytes)

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        if handler.stream_stream is not None:
            inner = handler.stream_stream

            async def stream(requests: Any, context: Any) -> Any:
                async def tapped() -> Any:
                    async for message in requests:
                        self.received.append((b"S", _bytes(message)))
                        yield message
                return await inner(tapped(), context)

            return grpc.stream_stream_rpc_method_handler(stream, handler.request_deserializer,
                                                         handler.response_serializer)
        if handler.unary_unary is not None:
            unary = handler.unary_unary

            def call(request: Any, context: Any) -> Any:
                self.received.append((b"U", _bytes(request)))
                return unary(request, context)

            return grpc.unary_unary_rpc_method_handler(call, handler.request_deserializer, handler.response_serializer)
        return handler


def _bytes(message: Any) -> bytes:
    return message if isinstance(message, bytes) else message.SerializeToString()


def main(out: Path) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    tap = Tap()
    server, port, service = serve("127.0.0.1:0", interceptors=(tap,))
    print(f"RTI listening on 127.0.0.1:{port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    service.stop()
    server.stop(0).wait()
    out.write_bytes(b"".join(kind + struct.pack("<I", len(data)) + data for kind, data in tap.received))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
