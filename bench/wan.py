"""WAN-like links: every TCP link of a distributed run goes through a proxy that delays each direction.

Usage: python bench/wan.py [--delay-ms 5] [--flagship-stop 600] [--ring-n 4] [--ring-steps 200]

The deployment shape of `federation coordinate`: an RTI (`rti serve`), one `federation host` per site and
the coordinator, each host and the coordinator reaching the RTI through its own proxy (bench/proxy.py, on
127.0.0.1) that holds every chunk `delay` before passing it on, both ways; with direct routing every
host's (and the coordinator's) Peer service is reached through such a proxy too (`--advertise`), so
every host-to-host link is delayed. Network namespaces and `tc netem` are not available on these
machines; the proxy is enough to see the critical path.

Prints one line per scenario and routing: wall time per exchange window (a window is one step of the
scenario's `time.step`, the recorder's), with the links delayed and not, and their difference in one-way
delays: relaying every value through the RTI costs about two one-way delays per window (host -> RTI ->
host); the direct data plane one (host -> host).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.proxy import Proxy, free_port  # noqa: E402
from bench.ring_scenario import node_fmu, write_ring  # noqa: E402

CLI = [sys.executable, "-m", "federation.cli"]
FLAGSHIP = REPO / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def start_rti(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    ready = work / "rti.ready"
    proc = subprocess.Popen([*CLI, "rti", "serve", "--listen", "127.0.0.1:0", "--no-gate", "--ready-file", str(ready),
                             "--audit", str(work / "audit.jsonl")], stdout=subprocess.DEVNULL,
                            stderr=(work / "rti.log").open("wb"))
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the RTI did not start: {(work / 'rti.log').read_text()[-500:]}")
        time.sleep(0.02)
    return proc, int(json.loads(ready.read_text())["port"])


def run_once(scenario: Path, stop: float | None, delay: float, work: Path, routing: str) -> float:
    """Wall time of the coordinator's run (run.json), every link delayed `delay` s each way."""
    work.mkdir(parents=True)
    rti, port = start_rti(work)
    proxy = Proxy(port, delay)  # one loop, one thread, for every link

    def peer_args() -> list[str]:
        """Direct routing: this process's Peer service, reached through a delaying listener of its own."""
        if routing != "direct":
            return []
        listen = free_port()
        return ["--listen", f"127.0.0.1:{listen}", "--advertise", f"127.0.0.1:{proxy.listen(listen)}"]

    try:
        data = yaml.safe_load(scenario.read_text())
        sites = sorted({spec.get("site", spec.get("owner")) for spec in data["federates"].values()})
        stop_args = [] if stop is None else ["--stop", str(stop)]
        out = work / "out"
        coordinator = subprocess.Popen([*CLI, "coordinate", str(scenario), "--rti", f"127.0.0.1:{proxy.listen()}",
                                        "--out", str(out), "--no-plot", "--routing", routing, *peer_args(),
                                        *stop_args],
                                       stdout=subprocess.DEVNULL, stderr=(work / "coordinator.log").open("wb"))
        time.sleep(0.5)  # the coordinator creates the federation before the hosts join it
        hosts = [subprocess.Popen([*CLI, "host", str(scenario), "--site", site, "--rti",
                                   f"127.0.0.1:{proxy.listen()}", *peer_args(), *stop_args],
                                  stdout=subprocess.DEVNULL, stderr=(work / f"host-{site}.log").open("wb"))
                 for site in sites]
        code = coordinator.wait(600)
        for host in hosts:
            host.wait(60)
        if code != 0:
            raise RuntimeError(f"the run failed: {(work / 'coordinator.log').read_text()[-800:]}")
        return float(json.loads((out / "run.json").read_text())["wall_time_s"])
    finally:
        proxy.close()
        rti.terminate()
        rti.wait(10)


def measure(name: str, scenario: Path, stop: float | None, delay: float, work: Path, routing: str) -> str:
    data = yaml.safe_load(scenario.read_text())
    span = (stop if stop is not None else data["time"]["stop"]) - data["time"]["start"]
    windows = round(span / data["time"]["step"])
    near = run_once(scenario, stop, 0.0, work / f"{name}-{routing}-0", routing)
    far = run_once(scenario, stop, delay, work / f"{name}-{routing}-d", routing)
    per_near, per_far = near / windows, far / windows
    return (f"{name} routing={routing} windows={windows} one_way_ms={delay * 1e3:g} wall_s={far:.2f} (undelayed {near:.2f}) "
            f"ms_per_window={per_far * 1e3:.2f} (undelayed {per_near * 1e3:.2f}) "
            f"delays_per_window={(per_far - per_near) / delay:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delay-ms", type=float, default=5.0, help="one-way delay of every link (default 5 ms)")
    ap.add_argument("--flagship-stop", type=float, default=600.0, help="simulated seconds of the flagship (default 600)")
    ap.add_argument("--ring-n", type=int, default=4, help="federates (one site each) in the ring (default 4)")
    ap.add_argument("--ring-steps", type=int, default=200, help="ring steps (default 200)")
    args = ap.parse_args(argv)
    delay = args.delay_ms / 1e3
    with tempfile.TemporaryDirectory(prefix="wan-") as tmp:
        work = Path(tmp)
        ring = write_ring(work / "ring", n=args.ring_n, steps=args.ring_steps, fmi="2")
        node_fmu("2")
        for routing in ("direct", "relay"):
            print(measure("flagship", FLAGSHIP, args.flagship_stop, delay, work, routing), flush=True)
            print(measure(f"ring_n{args.ring_n}", Path(ring), None, delay, work, routing), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
