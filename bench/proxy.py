"""A TCP proxy on 127.0.0.1 for links between a run's processes: it delays each direction, or cuts the link.

Used by bench/wan.py (every link delayed by a fixed one-way delay, as over a WAN) and by the failure tests
(tests/runtime/test_direct_failures.py: a link between two hosts stops forwarding mid-run while both ends
keep their connections open, as in a partition). Network namespaces and `tc netem` are not available on
these machines; a proxy is enough. It runs its own asyncio loop in a daemon thread: callers need none.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time


class Proxy:
    """Listeners on 127.0.0.1 that forward every connection to `target` (HOST:PORT, or a port on 127.0.0.1).

    Each chunk read is passed on `delay` seconds later, in order, both ways. `cut()` stops passing anything
    on, on every connection, open or to come, without closing one: each side sees a silent peer (what is
    in flight stays held). `mend()` lets it flow again. `listen(other)` forwards a new listener to another
    target, on the same loop (one thread for every link of a run). With `record`, every byte of every
    connection is kept in `links`: per connection, what was sent to the target and what came back.
    """

    def __init__(self, target: str | int, delay: float = 0.0, record: bool = False) -> None:
        self.target, self.delay, self.record = _address(target), delay, record
        self.links: list[tuple[bytearray, bytearray]] = []
        self.loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._servers: list[asyncio.AbstractServer] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0  # accepted so far
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxy", daemon=True)
        self.thread.start()

    def listen(self, target: str | int | None = None) -> int:
        """A new listening port (one per link, so that each can be told apart) forwarding to `target` (default:
        the proxy's); returns it."""
        address = self.target if target is None else _address(target)

        async def start() -> asyncio.Server:
            server = await asyncio.start_server(lambda r, w: self._serve(r, w, address), "127.0.0.1", 0)
            self._servers.append(server)
            return server

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        port: int = server.sockets[0].getsockname()[1]
        return port

    def cut(self) -> None:
        """Stop forwarding, keeping every connection open."""
        self.loop.call_soon_threadsafe(self._flowing.clear)

    def mend(self) -> None:
        """Forward again (what was held first)."""
        self.loop.call_soon_threadsafe(self._flowing.set)

    def close(self) -> None:
        """Close every listener and connection, and stop the loop."""
        async def shut() -> None:
            for server in self._servers:
                server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     target: tuple[str, int]) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.transport.abort()  # as a refused connection would be
            return
        self._writers.update((writer, up_writer))
        there, back = bytearray(), bytearray()
        if self.record:
            self.links.append((there, back))
        try:
            await asyncio.gather(self._pipe(reader, up_writer, there), self._pipe(up_reader, writer, back),
                                 return_exceptions=True)
        finally:
            self._writers.difference_update((writer, up_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bytearray) -> None:
        """Read chunks as they come; write each once its delay is over and the link is not cut, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def pass_on() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(pass_on())
        try:
            while True:
                await self._flowing.wait()  # cut: nothing read either, so the sender's buffers fill as they would
                if not (data := await reader.read(65536)):
                    break
                if self.record:
                    seen += data
                queue.put_nowait((time.monotonic() + self.delay, data))
            queue.put_nowait((time.monotonic() + self.delay, b""))  # the end of the stream, after its data
            await sender
        finally:
            sender.cancel()
            writer.close()


def _address(target: str | int) -> tuple[str, int]:
    host, _, port = target.rpartition(":") if isinstance(target, str) else ("127.0.0.1", "", str(target))
    return host or "127.0.0.1", int(port)


def free_port() -> int:
    """A port free on 127.0.0.1 now (another process may take it before it is used)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
