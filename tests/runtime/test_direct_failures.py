"""Failure handling with direct routing (issue 15): hosts exchange data and grant time among themselves, and a
fault anywhere still stops the federation as with relay routing.

Real processes throughout: `federation run --mode grpc` as a child process whose host is killed, frozen or
whose federate raises (grpc_runs.py watches it), and, where the test must reach inside the run, the same run
in a thread of the test (`InProcessRun`: its RTI and hosts are still child processes) so that a host can
advertise a proxy that stops forwarding (bench/proxy.py), or a hostile client can use a site's certificate
against another site's host. Every failed run must name the federate, its site and its logical time, exit
within the bounds of the relay tests (grpc_runs.DETECTION_LIMIT), keep exactly a prefix of the embedded run's
rows, and leave no process behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest

from bench.proxy import Proxy
from grpc_runs import (CLI, DETECTION_LIMIT, FAILURE, ROOT, STOP, CliRun, alive, assert_no_leftovers, chain_scenario,
                       fault_mid_run, free_address, start)

from federation.errors import FederationFailed
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.runtime import coordinator as coordination
from federation.runtime.coordinator import Coordinator, recorded_grpc_run
from federation.runtime.launch import HostOptions
from federation.runtime.local import LocalLauncher
from federation.rti.plan import RoutingPlan
from federation.rti.time import to_ticks
from federation.scenario import load_scenario
from federation.security.certs import COORDINATOR_SITE, SiteCredentials
from federation.security.local import run_security
from federation.security.tls import channel_credentials, peer_channel_options
from federation.transport.direct import DirectTransport
from federation.transport.grpc import RTIConnection

REFERENCE_STOP = 100_000  # s of the embedded reference runs: far beyond where a fault stops the others
DIRECT = ["--routing", "direct"]  # `federation run` options for direct routing (the default, said anyway)

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ shared checks
def embedded_reference(scenario: Path, out: Path, *args: str) -> bytes:
    """results.csv of the embedded run of `scenario` up to REFERENCE_STOP."""
    done = subprocess.run([*CLI, "run", str(scenario), "--out", str(out), "--no-plot", "--stop", str(REFERENCE_STOP),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return (out / "results.csv").read_bytes()


@pytest.fixture(scope="module")
def chain_reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("chain-reference")
    return embedded_reference(chain_scenario(folder), folder / "out")


def assert_prefix_of(out: Path, reference: bytes, rows_at_least: int = 100) -> list[float]:
    """results.csv is, byte for byte, the first rows of the embedded run; returns their times."""
    data = (out / "results.csv").read_bytes()
    assert data.endswith(b"\n") and reference.startswith(data), data[-300:]
    times = [float(line.split(b",")[0]) for line in data.splitlines()[1:]]
    assert len(times) > rows_at_least, f"only {len(times)} rows kept"
    return times


def assert_routed_directly(out: Path) -> None:
    """The RTI signed a routing plan: the run's data went host to host (its audit log says so)."""
    events = [json.loads(line)["event"] for line in (out / "audit.jsonl").read_text().splitlines()]
    assert "routing_plan" in events, events


# ------------------------------------------------------------------ a host killed, frozen, a federate raising
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
def test_a_killed_or_frozen_host_fails_the_direct_run_naming_it_at_the_time_its_peers_heard(
        sig: signal.Signals, tmp_path: Path, runs: list[CliRun], chain_reference: bytes) -> None:
    out, latency, t_fail = fault_mid_run(tmp_path, runs, sig, *DIRECT)
    assert_routed_directly(out)
    times = assert_prefix_of(out, chain_reference)
    assert t_fail > 100 and times[-1] <= t_fail  # not the last report's time, which may be a second old


def test_a_federate_raising_fails_the_direct_run_with_the_embedded_rows(tmp_path: Path, runs: list[CliRun]) -> None:
    marker = tmp_path / "raised"
    scenario = chain_scenario(tmp_path, fail_at=1500.0, marker=str(marker))
    embedded = subprocess.run([*CLI, "run", str(scenario), "--out", str(tmp_path / "embedded"), "--no-plot"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert embedded.returncode == 1, embedded.stderr
    out = tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot", *DIRECT], tmp_path,
                "run")
    assert run.wait(30) != 0 and run.exited_at is not None
    latency = run.exited_at - (time.monotonic() - (time.time() - float(marker.read_text())))  # from when it raised
    assert latency < DETECTION_LIMIT, latency
    said = " ".join(run.stderr.split())
    assert "federate 'end': step at t=1500.0 s raised ArithmeticError: cannot go on past 1500 s" in said, said
    assert "lost" not in said and "ERROR" not in said, said  # only the verdict: no channel broken by the teardown
    info = json.loads((out / "run.json").read_text())
    assert info["failure"] == {"federate": "end", "site": "gamma", "time_s": 1500.0}
    assert info["error"] == json.loads((tmp_path / "embedded" / "run.json").read_text())["error"]
    assert (out / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
    assert_routed_directly(out)
    assert_no_leftovers(run, str(tmp_path))
    print(f"direct, 'end' raised at t=1500 s: run exited {latency:.2f} s later")


# ------------------------------------------------------------------ runs the test reaches into
class InProcessRun:
    """`federation run --mode grpc` (what run_grpc does) in a thread of the test: the RTI and the hosts are child
    processes as always, while the test chooses hosts' options (`hosts`: site -> HostOptions fields) and sees the
    coordinator's transport (the routing plan), the RTI's address and the run's certificates."""

    def __init__(self, scenario: Path, out: Path, hosts: dict[str, dict[str, Any]],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.scenario, self.out = load_scenario(scenario), out
        self.transport: DirectTransport | None = None
        self.certs: Path | None = None
        self.error: BaseException | None = None
        self.ended_at: float | None = None
        self.children: list[psutil.Process] = []
        of, session = HostOptions.of, coordination.open_session

        def options(scenario: Any, site: str, rti: str, **fields: Any) -> HostOptions:
            return of(scenario, site, rti, **{**fields, **hosts.get(site, {})})

        def open_session(*args: Any, **kwargs: Any) -> DirectTransport:
            self.transport = session(*args, **kwargs)
            return self.transport

        monkeypatch.setattr(HostOptions, "of", staticmethod(options))
        monkeypatch.setattr(coordination, "open_session", open_session)
        self.thread = threading.Thread(target=self._run, name="in-process-run", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.out.mkdir(parents=True)
            with run_security(self.scenario, self.out, "grpc", insecure=False) as sec:
                assert sec.certs is not None
                self.certs = sec.certs.root
                launcher = LocalLauncher(self.scenario, self.out, sec)
                coordinator = Coordinator(self.scenario, launcher, sec.credentials(COORDINATOR_SITE))
                recorded_grpc_run(self.scenario, self.out, sec, None, False, coordinator.run)
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended_at = time.monotonic()

    def plan(self, timeout: float = 30.0) -> RoutingPlan:
        """The routing plan, once the RTI sent it."""
        deadline = time.monotonic() + timeout
        while (t := self.transport) is None or t.local is None:
            assert self.thread.is_alive(), f"the run ended before its routing plan came: {self.error}"
            assert time.monotonic() < deadline, "no routing plan"
            time.sleep(0.02)
        return t.local.plan

    def credentials(self, site: str) -> SiteCredentials:
        assert self.certs is not None
        return SiteCredentials.load(self.certs, site)

    @property
    def rti(self) -> str:
        return str(json.loads((self.out / "launch" / "rti.ready.json").read_text())["listen"])

    def rows(self, timeout: float = 30.0) -> None:
        """Until results.csv holds data rows."""
        csv_path, deadline = self.out / "results.csv", time.monotonic() + timeout
        while not (csv_path.exists() and csv_path.read_bytes().count(b"\n") > 1):
            assert self.thread.is_alive(), f"the run ended before results.csv grew: {self.error}"
            assert time.monotonic() < deadline, "results.csv did not grow"
            self.children = self.processes() or self.children
            time.sleep(0.05)
        self.children = self.processes()

    def processes(self) -> list[psutil.Process]:
        """The run's RTI and hosts: this process's `federation` children."""
        found = []
        for p in psutil.Process().children(recursive=True):
            try:
                if "federation.cli" in " ".join(p.cmdline()):
                    found.append(p)
            except psutil.Error:
                pass
        return found

    def wait(self, timeout: float = 30.0) -> BaseException | None:
        """The run's end: the error it raised (None: it completed); then no process of it may be left."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the run did not end within {timeout:g} s"
        assert self.children, "the test never saw the run's processes"
        left = [f"{p.pid} {' '.join(p.cmdline())}" for p in self.children if alive(p)]
        assert not left, f"processes left behind: {left}"
        return self.error


Start = Callable[[Path, Path, dict[str, dict[str, Any]]], InProcessRun]


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    """InProcessRun(scenario, out, hosts); a run a failed test leaves going loses its processes and ends."""
    started: list[InProcessRun] = []

    def begin(scenario: Path, out: Path, hosts: dict[str, dict[str, Any]]) -> InProcessRun:
        started.append(InProcessRun(scenario, out, hosts, monkeypatch))
        return started[-1]
    yield begin
    for run in started:
        if run.thread.is_alive():
            for p in run.processes():
                try:
                    p.kill()
                except psutil.Error:
                    pass
            run.thread.join(30)


def failure_of(run: InProcessRun) -> tuple[FederationFailed, float]:
    """The run's FederationFailed (which run.json records alike), and its logical time in seconds."""
    error = run.wait()
    assert isinstance(error, FederationFailed), f"the run did not fail as a federation: {error!r}"
    found = FAILURE.search(str(error))
    assert found, str(error)
    info = json.loads((run.out / "run.json").read_text())
    assert info["status"] == "failed" and info["failure"] == {"federate": error.federate, "site": error.host,
                                                              "time_s": float(found["t"])}
    return error, float(found["t"])


@pytest.fixture
def proxy() -> Iterator[Callable[[str], Proxy]]:
    made: list[Proxy] = []

    def make(target: str) -> Proxy:
        made.append(Proxy(target))
        return made[-1]
    yield make
    for p in made:
        p.close()


# ------------------------------------------------------------------ a partition between two hosts
def test_a_cut_link_between_two_hosts_fails_the_run_within_keepalive_bounds(
        tmp_path: Path, in_process: Start, chain_reference: bytes,
        proxy: Callable[[str], Proxy]) -> None:
    """alpha -> beta goes through a proxy (beta advertises it); it stops forwarding mid-run, both connections
    left open, while both hosts still reach the RTI."""
    listen = free_address()
    link = proxy(listen)
    cut = f"127.0.0.1:{link.listen()}"
    run = in_process(chain_scenario(tmp_path), tmp_path / "out", {"beta": {"listen": listen, "advertise": cut}})
    assert run.plan().endpoints["beta"] == cut
    run.rows()
    assert link.connections >= 1, "alpha's channel to beta does not go through the proxy"
    link.cut()
    fault_at = time.monotonic()
    failure, t_fail = failure_of(run)
    assert run.ended_at is not None
    latency = run.ended_at - fault_at
    assert latency < DETECTION_LIMIT, f"failed {latency:.2f} s after the cut: {failure}"
    assert (failure.federate, failure.host) in {("src", "alpha"), ("mid", "beta")}, str(failure)
    assert "lost its channel with site" in str(failure), str(failure)
    times = assert_prefix_of(run.out, chain_reference)
    assert times[-1] < STOP and times[-1] <= t_fail
    if failure.federate == "mid":  # held back by the cut, it is where the rows end
        assert abs(t_fail - times[-1]) <= 2.0, (t_fail, times[-1])
    print(f"alpha -> beta cut: failed {latency:.2f} s later: {failure}")


# ------------------------------------------------------------------ a hostile peer
def paced_pair(data: dict[str, Any]) -> None:
    """The chain with a source of two outputs, y (to mid) and z (recorded only: never routed to beta), and mid
    taking at least a millisecond a step (the hostile client acts while the run goes on)."""
    data["federates"]["src"]["python"] = "models:Pair"
    data["federates"]["mid"]["parameters"] = {"pace": 0.001}
    data["output"]["variables"] = ["src.y", "src.z", "mid.y", "end.y"]


@pytest.fixture(scope="module")
def pair_reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("pair-reference")
    return embedded_reference(chain_scenario(folder, paced_pair), folder / "out", "--set", "mid.pace=0")


def channel_to(run: InProcessRun, address: str, as_site: str, to_site: str) -> grpc.Channel:
    """A Peer channel to `to_site`'s host, holding `as_site`'s valid certificate."""
    return grpc.secure_channel(address, channel_credentials(run.credentials(as_site)), peer_channel_options(to_site))


def opening(plan: RoutingPlan, site: str) -> Any:
    return pb.ChannelMessage(protocol_version=PROTOCOL_VERSION, federation=plan.federation, from_site=site,
                             plan_digest=plan.digest)


def refused(channel: grpc.Channel, messages: list[Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        pb_grpc.PeerStub(channel).Channel(iter(messages), timeout=10)
    return caught.value


def test_a_peer_claiming_another_site_and_a_relay_outside_the_plan_are_refused_and_change_nothing(
        tmp_path: Path, in_process: Start, pair_reference: bytes) -> None:
    def short(data: dict[str, Any]) -> None:
        paced_pair(data)
        data["time"]["stop"] = 4000.0  # some 4 s: the run is still going when both are refused

    listen = free_address()
    run = in_process(chain_scenario(tmp_path, short), tmp_path / "out", {"beta": {"listen": listen}})
    plan = run.plan()
    run.rows()
    # (a) alpha's certificate, claiming to be gamma, to beta's host
    with channel_to(run, listen, "alpha", "beta") as channel:
        error = refused(channel, [opening(plan, "gamma")])
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "a stream claiming site 'gamma' presented the certificate of site 'alpha'"
    assert "claiming site 'gamma' with the certificate of site 'alpha'" in (run.out / "logs" / "host-beta.log").read_text()
    # a relay through the RTI to a site alpha sends nothing to, on a session of alpha's own
    conn = RTIConnection(run.rti, plan.federation, "alpha", channel_credentials(run.credentials("alpha")))
    try:
        conn.send(relay=pb.Relay(to_site="gamma", message=pb.ChannelMessage()))
        said = str(conn.wait_failure(10))
    finally:
        conn.close()
    assert "PERMISSION_DENIED" in said and "site 'alpha' may not relay to site 'gamma'" in said, said
    # neither touched the federation: it runs to its end, to the embedded bytes
    assert run.wait(60) is None
    data = (run.out / "results.csv").read_bytes()
    assert pair_reference.startswith(data) and data.splitlines()[-1].startswith(b"4000.0,"), data[-200:]


HOSTILE: dict[str, tuple[Callable[[RoutingPlan, dict[str, int]], Any], str]] = {
    # sender src (alpha's own federate) updating mid's object, which alpha does not own
    "not its object": (lambda plan, h: pb.ChannelUpdate(sender=h["src"], object=h["mid object"], attributes=[h["y"]],
                                                        values=[1.0], timestamped=True, timestamp=to_ticks(STOP)),
                       "federate 'src' of site 'alpha' sent an update of object {mid object}, which the routing plan "
                       "does not give it"),
    # src.z: recorded by the coordinator, never routed to beta
    "an attribute not routed to it": (lambda plan, h: pb.ChannelUpdate(
        sender=h["src"], object=h["src object"], attributes=[h["z"]], values=[1.0], timestamped=True,
        timestamp=to_ticks(STOP)),
        "federate 'src' of site 'alpha' sent attribute(s) [{z}] of object {src object} to site 'beta', outside the "
        "routing plan"),
    # a value stamped 0 s, long below what src promised beta
    "a timestamp below its promise": (lambda plan, h: pb.ChannelUpdate(
        sender=h["src"], object=h["src object"], attributes=[h["y"]], values=[1.0], timestamped=True, timestamp=0),
        "federate 'src' of site 'alpha' sent timestamp 0 below its promise"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_peer_sending_outside_the_plan_is_refused_and_fails_the_federation_naming_it(
        case: str, tmp_path: Path, in_process: Start, pair_reference: bytes) -> None:
    listen = free_address()
    run = in_process(chain_scenario(tmp_path, paced_pair), tmp_path / "out", {"beta": {"listen": listen}})
    plan = run.plan()
    run.rows()
    by_name = {f.name: h for h, f in plan.federates.items()}
    fom = run.transport.fom if run.transport is not None else None
    assert fom is not None
    handles = {"src": by_name["src"], "y": fom.object_class("src").member_handles["y"],
               "z": fom.object_class("src").member_handles["z"],
               **{f"{o} object": next(h for h, obj in plan.objects.items() if obj.owner == by_name[o])
                  for o in ("src", "mid")}}
    build, words = HOSTILE[case]
    words = words.format(**handles)
    with channel_to(run, listen, "alpha", "beta") as channel:
        error = refused(channel, [opening(plan, "alpha"), pb.ChannelMessage(updates=[build(plan, handles)])])
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and words in error.details(), error.details()
    failure, t_fail = failure_of(run)
    assert (failure.federate, failure.host) == ("src", "alpha"), str(failure)
    assert f"site 'beta' refused a message from site 'alpha': {words}" in str(failure), str(failure)
    assert_prefix_of(run.out, pair_reference, rows_at_least=1)
    print(f"{case}: {failure}")
