"""What the connection gate costs the grpc-mode ring: one ring against `rti serve` with its gate and `--no-gate`.

Usage: python bench/gate_ring.py [--n 4] [--steps 1000] [--reps 3] [--echo-rounds 5000]
Both RTIs serve for the whole benchmark (plaintext, loopback: the gate relays TLS bytes the same way);
each measure is a long minus a short run, so start-up cancels. Prints two lines: microseconds per ring
step through the gate and straight to gRPC, with the gate's overhead; then the relay alone, the median
round trip of a 200-byte message to an echo server, straight and through a gate.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Workdir, interleaved, write_ring  # noqa: E402


def run_against(scenario: Path, out: Path, rti: str) -> float:
    """Wall time of one grpc-mode run (hosts and coordinator) against the RTI serving at `rti`."""
    from federation.runtime.local import run_grpc
    from federation.scenario import load_scenario

    shutil.rmtree(out, ignore_errors=True)
    result = run_grpc(load_scenario(scenario), out, plot=False, rti=rti)
    if result.status != "completed":
        raise RuntimeError(f"{scenario.name} against {rti}: {result.status}: {result.error}")
    return float(json.loads((out / "run.json").read_text())["wall_time_s"])


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := self.request.recv(65536):
            self.request.sendall(data)


def echo_round_trips(rounds: int, reps: int) -> tuple[float, float]:
    """Median seconds of a 200-byte round trip to an echo server: straight, and through a gate."""
    from federation.server.gate import Gate
    from federation.server.limits import Limits
    from federation.security.refusals import RefusalLog

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    gate = Gate(server.server_address[1], Limits(), RefusalLog(logging.getLogger(__name__)))
    gate_port = gate.open("127.0.0.1:0")

    def median_round_trip(port: int) -> float:
        message, times = b"x" * 200, []
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(rounds):
                started = time.perf_counter()
                s.sendall(message)
                got = 0
                while got < len(message):
                    got += len(s.recv(65536))
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    try:
        med = interleaved(reps, {"direct": lambda: median_round_trip(server.server_address[1]),
                                 "gate": lambda: median_round_trip(gate_port)})
    finally:
        gate.close()
        server.shutdown()
        server.server_close()
    assert med["direct"] is not None and med["gate"] is not None
    return med["direct"], med["gate"]


def main(argv: list[str] | None = None) -> int:
    from federation.runtime.local import start_rti

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--echo-rounds", type=int, default=5000)
    args = ap.parse_args(argv)
    short = max(1, args.steps // 10)
    with Workdir() as work:
        servers: list[subprocess.Popen[bytes]] = []
        try:
            gated, gated_at = start_rti(work / "gated.log", gate=True)
            servers.append(gated)
            direct, direct_at = start_rti(work / "direct.log")
            servers.append(direct)
            long_ring, short_ring = write_ring(work, args.n, args.steps, "2"), write_ring(work, args.n, short, "2")

            def per_step(tag: str, rti: str) -> float:
                long_t = run_against(long_ring, work / f"{tag}_long", rti)
                return (long_t - run_against(short_ring, work / f"{tag}_short", rti)) / (args.steps - short)

            med = interleaved(args.reps, {"gate": lambda: per_step("gate", gated_at),
                                          "direct": lambda: per_step("direct", direct_at)})
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(30)
        gate, plain = med["gate"], med["direct"]
        assert gate is not None and plain is not None
        identical = ((work / "gate_long" / "results.csv").read_bytes()
                     == (work / "direct_long" / "results.csv").read_bytes())
        print(f"gate-ring n={args.n} steps={args.steps} reps={args.reps} gate_us_per_step={gate * 1e6:.0f} "
              f"direct_us_per_step={plain * 1e6:.0f} gate_overhead={(gate / plain - 1) * 100:+.1f}% "
              f"results_identical={'yes' if identical else 'NO'}", flush=True)
    direct_rt, gate_rt = echo_round_trips(args.echo_rounds, args.reps)
    print(f"gate-echo rounds={args.echo_rounds} reps={args.reps} direct_us={direct_rt * 1e6:.0f} "
          f"gate_us={gate_rt * 1e6:.0f} added_us_per_round_trip={(gate_rt - direct_rt) * 1e6:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
