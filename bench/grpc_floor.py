"""The floor under any Python gRPC federation: bare stream round trips, beside whole HELICS ring steps.

Usage: python bench/grpc_floor.py [--round-trips 3000] [--reps 3] [--sizes 2 8]
An asyncio gRPC server echoes raw bytes on one bidirectional stream (no protobuf, no TLS,
no RTI); a client in another process sends one message and waits for it back, with the
synchronous API (as our hosts do) and with grpc.aio. It prints the wall time and the CPU
time (client plus server) of one round trip. A grpc-mode ring step needs at least one such
round trip per host through the RTI (and one more for the recorder, left out here), so on
2 cores it cannot take less than N x the cheaper CPU per round trip / 2, even with no
protobuf, no TLS and no RTI logic at all. That floor is printed beside HELICS's time per
step for the same ring (shared/bench/helics_ring.py), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import grpc
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import interleaved, peer_per_step  # noqa: E402

SERVICE, METHOD = "floor.Echo", "Echo"
PATH = f"/{SERVICE}/{METHOD}"
PAYLOAD = b"\x01" * 64  # about the size of one step message of the ring


async def _serve() -> None:
    async def echo(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        async for message in requests:
            await context.write(message)

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.stream_stream_rpc_method_handler(echo)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


def sync_round_trip(port: int, n: int) -> tuple[float, float]:
    """(wall, client CPU) seconds per round trip with the synchronous API: a request generator and a reader thread."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    inbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def requests() -> Iterator[bytes]:
        while (item := outbox.get()) is not None:
            yield item

    call: Any = channel.stream_stream(PATH)(requests())
    def read() -> None:
        for message in call:
            inbox.put(message)

    threading.Thread(target=read, daemon=True).start()
    outbox.put(PAYLOAD)
    inbox.get()  # connected and warm
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        outbox.put(PAYLOAD)
        inbox.get()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    outbox.put(None)
    channel.close()
    return wall / n, cpu / n


def aio_round_trip(port: int, n: int) -> tuple[float, float]:
    """(wall, client CPU) seconds per round trip with grpc.aio: write, then read, on one event loop."""
    async def run() -> tuple[float, float]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call: Any = channel.stream_stream(PATH)()
            await call.write(PAYLOAD)
            await call.read()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                await call.write(PAYLOAD)
                await call.read()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            await call.done_writing()
            return wall / n, cpu / n

    return asyncio.run(run())


class Echo:
    """The echo server in its own process; clients run in fresh processes, as hosts do."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.cpu: dict[str, list[float]] = {"sync": [], "aio": []}  # client + server CPU per round trip

    def _server_cpu(self) -> float:
        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    def client(self, kind: str, n: int) -> float:
        """Wall seconds per round trip; the CPU per round trip is kept in self.cpu."""
        before = self._server_cpu()
        proc = subprocess.run([sys.executable, __file__, "--client", kind, "--port", str(self.port),
                               "--round-trips", str(n)], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{kind} client failed:\n{proc.stderr[-2000:]}")
        wall, client_cpu = (float(x) for x in proc.stdout.split())
        self.cpu[kind].append(client_cpu + (self._server_cpu() - before) / (n + 1))
        return wall

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--round-trips", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8], help="ring sizes for the floor and HELICS")
    ap.add_argument("--client", choices=("sync", "aio"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        asyncio.run(_serve())
        return 0
    if args.client:
        fn = sync_round_trip if args.client == "sync" else aio_round_trip
        print(*fn(args.port, args.round_trips))
        return 0

    echo, n = Echo(), args.round_trips
    try:
        measures: dict[str, Callable[[], float | None]] = {
            "sync": lambda: echo.client("sync", n),
            "aio": lambda: echo.client("aio", n),
        }
        if importlib.util.find_spec("helics") is not None:
            for size in args.sizes:
                measures[f"helics{size}"] = functools.partial(peer_per_step, "helics_ring.py", str(size), "1000")
        med = interleaved(args.reps, measures)
    finally:
        echo.close()
    sync_rt, aio_rt = med["sync"], med["aio"]
    assert sync_rt is not None and aio_rt is not None
    sync_cpu, aio_cpu = statistics.median(echo.cpu["sync"]), statistics.median(echo.cpu["aio"])
    cpu = min(sync_cpu, aio_cpu)
    fields = [f"grpc-floor round_trips={n} reps={args.reps}", f"sync_round_trip_us={sync_rt * 1e6:.0f}",
              f"aio_round_trip_us={aio_rt * 1e6:.0f}", f"sync_cpu_per_round_trip_us={sync_cpu * 1e6:.0f}",
              f"aio_cpu_per_round_trip_us={aio_cpu * 1e6:.0f}"]
    for size in args.sizes:
        floor = size * cpu / 2  # one round trip per host, the cheaper API, 2 cores, nothing else
        helics = med.get(f"helics{size}")
        fields.append(f"n={size}:floor_us={floor * 1e6:.0f}")
        fields.append(f"helics_us={helics * 1e6:.0f},floor/helics={floor / helics:.2f}x" if helics else "helics=n/a")
    print(" ".join(fields), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
