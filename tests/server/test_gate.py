"""The connection gate (federation/server/gate.py) on real sockets of 127.0.0.0/8.

Linux lets a client bind any 127.x address before it connects: each test's peers are distinct
addresses (127.0.0.2, 127.0.0.3, ...), so a cap of one does not count the others. The first tests
put the gate in front of a plain TCP server of the test's own; the last one floods a TLS
`federation rti serve` while the three sites of docs/deploy.md run their federation through it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from federation.server.gate import Gate
from federation.server.sockets import address_key, peer_string
from federation.server.limits import Limits
from federation.security.refusals import RefusalLog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from test_deploy import CLI, Processes, federation, rtis, said, wait_for_line  # noqa: E402,F401  (rtis: a fixture)

LOGGER = "tests.gate"


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def connect(port: int, source: str, timeout: float = 5.0) -> socket.socket:
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionResetError:
        pass  # refused so fast that the reset beat connect(): closed_within() says so
    return s


def closed_within(s: socket.socket, seconds: float) -> bool:
    """Whether the other end closes `s` (EOF or reset) within `seconds`, without sending anything."""
    s.settimeout(seconds)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:  # reset, or not connected any more
        return True


def still_open(socks: list[socket.socket], after: float = 0.3) -> list[bool]:
    """Which of `socks` the other end has not closed, `after` seconds from now."""
    time.sleep(after)
    return [not closed_within(s, 0.001) for s in socks]


def reset(s: socket.socket) -> None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


class Upstream(socketserver.ThreadingTCPServer):
    """What stands behind the gate here: reads a request to its end, answers its SHA-256 and `reply` bytes."""

    daemon_threads = True
    reply = b""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.accepted: list[tuple[str, int]] = []  # the connections' peers, as the server sees them
        self.ended: list[str] = []  # how each connection ended: "eof" or "reset"
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()


class _Answer(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, Upstream)
        server.accepted.append(self.client_address)
        digest = hashlib.sha256()
        try:
            while chunk := self.request.recv(65536):
                if chunk == b"reset me":
                    reset(self.request)
                    return
                digest.update(chunk)
        except ConnectionResetError:
            server.ended.append("reset")
            return
        server.ended.append("eof")
        self.request.sendall(digest.digest() + server.reply)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.shutdown()
    server.server_close()


def open_gate(upstream: Upstream, **limits: float) -> Gate:
    gate = Gate(upstream.server_address[1], Limits(**limits),  # type: ignore[arg-type]
                RefusalLog(logging.getLogger(LOGGER)))
    gate.port = gate.open("127.0.0.1:0")  # type: ignore[attr-defined]
    return gate


@pytest.fixture
def gate(upstream: Upstream) -> Iterator[Gate]:
    g = open_gate(upstream, max_connections_per_address=4, max_connections=6, silent_connection_timeout=1.5)
    yield g
    g.close()


def test_bytes_pass_unchanged_both_ways_through_half_close_and_a_slow_reader(upstream: Upstream, gate: Gate) -> None:
    upstream.reply = os.urandom(8 * 1024 * 1024)  # far more than the socket buffers: the gate must pause, not buffer
    request = os.urandom(4 * 1024 * 1024)
    s = connect(gate.port, "127.0.0.2")  # type: ignore[attr-defined]
    s.sendall(request)
    s.shutdown(socket.SHUT_WR)  # half-close: the answer must still come back
    time.sleep(0.5)  # a slow reader: the answer piles up at the gate meanwhile
    got = bytearray()
    while chunk := s.recv(1 << 20):
        got += chunk
    s.close()
    assert bytes(got) == hashlib.sha256(request).digest() + upstream.reply
    assert until(lambda: gate.open_connections == 0 and not gate.peers)


def test_a_reset_reaches_the_other_side(upstream: Upstream, gate: Gate) -> None:
    s = connect(gate.port, "127.0.0.2")  # type: ignore[attr-defined]
    s.sendall(b"half a request")
    assert until(lambda: len(upstream.accepted) == 1)
    reset(s)  # the client resets: the server sees a reset
    assert until(lambda: upstream.ended != []) and upstream.ended == ["reset"]
    s = connect(gate.port, "127.0.0.2")  # type: ignore[attr-defined]
    s.sendall(b"reset me")  # the server resets: the client sees a reset
    with pytest.raises(ConnectionResetError):
        s.recv(1)
    s.close()
    assert until(lambda: gate.open_connections == 0)


def test_the_server_sees_the_gate_and_learns_the_real_peer_from_it(upstream: Upstream, gate: Gate) -> None:
    s = connect(gate.port, "127.0.0.3")  # type: ignore[attr-defined]
    s.sendall(b"hello")
    assert until(lambda: len(upstream.accepted) == 1)
    seen = f"ipv4:{upstream.accepted[0][0]}:{upstream.accepted[0][1]}"
    assert gate.real_peer(seen) == f"ipv4:127.0.0.3:{s.getsockname()[1]}"
    assert gate.real_peer("ipv4:127.0.0.1:1") == "ipv4:127.0.0.1:1"  # not one of the gate's: as it is
    s.close()
    assert until(lambda: not gate.peers)
    assert gate.real_peer(seen) == seen


def test_connections_over_a_cap_are_closed_at_once_and_logged_once_per_address(
        upstream: Upstream, gate: Gate, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        flood = [connect(gate.port, "127.0.0.2") for _ in range(40)]  # type: ignore[attr-defined]
        assert still_open(flood) == [True] * 4 + [False] * 36  # its cap: the others were closed at once
        other = [connect(gate.port, "127.0.0.3") for _ in range(3)]  # type: ignore[attr-defined]
        assert still_open(other) == [True, True, False]  # the total cap (6) is reached
        for s in flood + other:
            s.close()
        assert until(lambda: gate.open_connections == 0)
        again = [connect(gate.port, "127.0.0.2") for _ in range(4)]  # type: ignore[attr-defined]
        assert still_open(again) == [True] * 4  # closed connections free their slots
        for s in again:
            s.close()
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 2, lines  # one per address within the minute, whatever the count
    assert "refused 127.0.0.2: connection closed: 4 connections from 127.0.0.2 are open" in lines[0]
    assert "max_connections_per_address=4" in lines[0]
    assert lines[1].startswith("refused 127.0.0.3: ") and "max_connections=6" in lines[1]
    assert upstream.accepted == []  # nobody said anything: the server never saw a connection


def test_a_silent_connection_is_closed_before_the_server_sees_it(upstream: Upstream, gate: Gate,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        s = connect(gate.port, "127.0.0.4")  # type: ignore[attr-defined]
        started = time.monotonic()
        assert closed_within(s, 5.0) and 1.4 < time.monotonic() - started < 3.5
        s.close()
    assert upstream.accepted == []
    assert any("refused 127.0.0.4: connection closed: it sent nothing within 1.5 s" in r.getMessage()
               for r in caplog.records)


def test_no_descriptor_outlives_its_connection_nor_the_gate(upstream: Upstream) -> None:
    before = fds()
    gate = open_gate(upstream, max_connections_per_address=8, silent_connection_timeout=0.3)
    port = gate.port  # type: ignore[attr-defined]
    try:
        open_ = fds()
        for i in range(500):  # every way a connection ends, 100 times each
            kind = i % 5
            if kind == 0:  # speaks, half-closes, reads the answer
                s = connect(port, "127.0.0.2")
                s.sendall(b"x" * 100)
                s.shutdown(socket.SHUT_WR)
                assert len(s.recv(64)) == 32
                s.close()
            elif kind == 1:  # speaks, then resets
                s = connect(port, "127.0.0.2")
                s.sendall(b"y")
                reset(s)
            elif kind == 2:  # connects and leaves without a word
                connect(port, "127.0.0.2").close()
            elif kind == 3:  # connects and resets without a word
                reset(connect(port, "127.0.0.2"))
            else:  # nine at once from one address: the ninth is refused
                burst = [connect(port, "127.0.0.3") for _ in range(9)]
                for s in burst:
                    s.close()
            assert until(lambda: gate.open_connections == 0, 5), f"connection {i} ({kind}) still counted"
        silent = [connect(port, "127.0.0.4") for _ in range(5)]  # left to the silence timeout
        assert all(closed_within(s, 3.0) for s in silent)
        for s in silent:
            s.close()
        assert until(lambda: gate.open_connections == 0 and not gate.peers)
        assert until(lambda: fds() == open_), (fds(), open_)
    finally:
        gate.close()
    assert fds() == before


@pytest.mark.parametrize("address, peer, key", [
    (("10.1.2.3", 5000), "ipv4:10.1.2.3:5000", "10.1.2.3"),
    (("::ffff:10.1.2.3", 5000, 0, 0), "ipv4:10.1.2.3:5000", "10.1.2.3"),  # an IPv4 client of a dual-stack socket
    (("2001:db8:1:2:aaaa::1", 5000, 0, 0), "ipv6:[2001:db8:1:2:aaaa::1]:5000", "2001:db8:1:2::/64"),
    (("2001:db8:1:2:bbbb::9", 6000, 0, 0), "ipv6:[2001:db8:1:2:bbbb::9]:6000", "2001:db8:1:2::/64"),  # same /64
    (("fe80::1%lo", 7000, 0, 1), "ipv6:[fe80::1]:7000", "fe80::/64"),
])
def test_a_peer_is_named_as_grpc_names_it_and_counted_per_address_or_ipv6_64(
        address: tuple[object, ...], peer: str, key: str) -> None:
    assert (peer_string(address), address_key(address)) == (peer, key)


def test_the_total_cap_fits_the_descriptor_limit() -> None:
    """Each relayed connection takes three descriptors: the soft limit is raised for them if the hard one
    allows, else the cap shrinks to fit (checked in a child process: limits are per process)."""
    code = """if True:
        import resource
        from federation.server.sockets import connection_budget
        resource.setrlimit(resource.RLIMIT_NOFILE, (600, {hard}))
        print(connection_budget(1024), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    """
    for hard, expected in ((600, "157 600"), (10_000, "1024 3200")):
        out = subprocess.run([sys.executable, "-c", code.format(hard=hard)], capture_output=True, text=True, timeout=60)
        assert out.stdout.split() == expected.split(), out.stderr


# ------------------------------------------------------------------------------ `federation rti serve`
def test_rti_serve_stops_on_sigterm_with_connections_open(tmp_path: Path) -> None:
    import signal

    procs = Processes(tmp_path)
    try:
        rti = procs.start("rti", ["rti", "serve", "--listen", "127.0.0.1:0", "--audit", str(tmp_path / "audit.jsonl"),
                                  "--limit", "max_connections_per_address=4"])
        wait_for_line(tmp_path / "rti.out", "RTI listening on ", rti)
        port = int((tmp_path / "rti.out").read_text().split(":")[-1])
        idle = [connect(port, "127.0.0.2") for _ in range(10)]
        talking = connect(port, "127.0.0.3")
        talking.sendall(b"PRI * HTTP/2.0\r\n\r\n")  # relayed to gRPC, which waits for the rest
        assert still_open(idle) == [True] * 4 + [False] * 6
        started = time.monotonic()
        os.killpg(rti.pid, signal.SIGTERM)
        assert procs.wait("rti", rti, 10) == 0, procs.said("rti")
        assert time.monotonic() - started < 5
        assert all(closed_within(s, 1.0) for s in idle[:4])
        talking.settimeout(1.0)
        while talking.recv(65536):  # gRPC's HTTP/2 settings, then the end
            pass
        for s in idle + [talking]:
            s.close()
    finally:
        procs.stop_all()


@pytest.mark.slow
def test_a_flood_from_one_address_keeps_no_site_from_joining_and_finishing(rtis: dict[str, object], fmu_dist: Path,
                                                                          tmp_path: Path) -> None:
    """The TLS RTI of docs/deploy.md (tests/cli/test_deploy.py's fixture), flooded from 127.0.0.2 with
    300 idle connections, topped up every second for the whole run, while its three sites run it."""
    port = int(str(rtis["tls"]).rsplit(":", 1)[1])
    stop = threading.Event()
    first_round: list[bool] = []
    rounds = [0]

    def flood() -> None:
        held: list[socket.socket] = []
        deadline = time.monotonic() + 150
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                held += [connect(port, "127.0.0.2") for _ in range(300 - len(held))]
                if not first_round:
                    first_round.extend(still_open(held, 0.5))
                for s in held:
                    if closed_within(s, 0.001):
                        s.close()
                held = [s for s in held if s.fileno() >= 0]
                rounds[0] += 1
                stop.wait(1.0)
        finally:
            for s in held:
                s.close()

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    procs = Processes(tmp_path)
    scenario, certs, target = str(rtis["scenario"]), str(rtis["certs"]), str(rtis["tls"])
    try:
        assert until(lambda: bool(first_round), 30)
        coordinator = procs.start("coordinator", ["coordinate", scenario, "--rti", target, "--tls", certs,
                                                  "--out", str(tmp_path / "results")])
        hosts = {site: procs.start(site, ["host", scenario, "--site", site, "--rti", target, "--tls", certs])
                 for site in ("utility", "furnace_maker", "carmaker")}
        assert procs.wait("coordinator", coordinator, 120) == 0, procs.said("coordinator")
        assert "three-sites: completed 3600 s" in procs.said("coordinator")
        for site, proc in hosts.items():
            assert procs.wait(site, proc, 30) == 0 and f"site {site}: done (" in procs.said(site), procs.said(site)
        assert rounds[0] >= 3, "the flood should have lasted the whole run"
    finally:
        stop.set()
        flooder.join(30)
        procs.stop_all()
    assert first_round.count(True) == Limits().max_connections_per_address  # the others were closed at once
    rti_log = (Path(certs).parent / "tls.err").read_text().splitlines()
    about = [line for line in rti_log if "127.0.0.2" in line]
    assert 1 <= len(about) <= 3, about  # one line a minute, whatever the flood's rate
    assert all(len(line) < 4096 for line in about), about
    assert "refused 127.0.0.2: connection closed: 16 connections from 127.0.0.2 are open" in about[0]
