"""Owners expose only what they list: every byte that leaves a host in a grpc flagship run, and every
result and log file, is searched for each twin's private variable names and parameter values.

With relay routing every value crosses the RTI, whose every received byte is recorded (tap_rti.py).
With direct routing the values go host to host and host to the coordinator's recorder: the sites'
hosts and the coordinator are deployed as docs/deploy.md does (plaintext), each Peer service dialled
only through a recording proxy (`--advertise`), so every byte of every such link is searched too.

The flagship runs with the furnace's expose list removed and its T_charge no longer recorded:
exposure is deny-by-default with several owners, so T_charge, an output that nothing connects
or records, must stay on the furnace maker's host like any private variable.
"""

from __future__ import annotations

import logging
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.fmu.interface import fmu_interface
from bench.proxy import Proxy, free_port
from federation.protocol import pb
from federation.runtime.coordinator import run_coordinator
from federation.runtime.launch import HostOptions
from federation.runtime.local import LAUNCH_DIR, federation_command, run_grpc
from federation.runtime.processes import spawn, stop_all
from federation.runtime.record import RunResult
from federation.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
ORDINARY = {0.0, 1.0, -1.0, 0.5, 2.0, 10.0, 50.0, 100.0}  # values too common to be anyone's secret


def read_tap(path: Path) -> list[tuple[bytes, bytes]]:
    data, out, at = path.read_bytes(), [], 0
    while at < len(data):
        (size,) = struct.unpack_from("<I", data, at + 1)
        out.append((data[at:at + 1], data[at + 5:at + 5 + size]))
        at += 5 + size
    return out


def carried(session: list[bytes]) -> list[Any]:
    """The RTI's share of the data plane: the steps (updates, interactions) and relayed channel messages received."""
    out: list[Any] = []
    for raw in session:
        outer = pb.ClientMessage.FromString(raw)
        for msg in (outer.batch.messages if outer.WhichOneof("body") == "batch" else [outer]):
            kind = msg.WhichOneof("body")
            out += [msg.step] if kind == "step" else [msg.relay.message] if kind == "relay" else []
    return out


def shared_values(messages: list[Any]) -> set[float]:
    """Every value sent in updates and interactions: exposed data, which other federates may see."""
    return {v for m in messages for sent in [*m.updates, *m.interactions] for v in sent.values}


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def http2_data(raw: bytes) -> list[bytes]:
    """One direction of a plaintext HTTP/2 connection: each stream's DATA frame payloads, joined.

    A value or name split by a frame header escapes a search of the raw bytes: the joined payloads are searched too.
    """
    at = len(H2_PREFACE) if raw.startswith(H2_PREFACE) else 0  # the client's side opens with the preface
    streams: dict[int, bytearray] = {}
    while at < len(raw):
        size, kind, flags = int.from_bytes(raw[at:at + 3], "big"), raw[at + 3], raw[at + 4]
        stream, payload = int.from_bytes(raw[at + 5:at + 9], "big") & 0x7FFFFFFF, raw[at + 9:at + 9 + size]
        at += 9 + size
        if kind == 0:  # DATA; PADDED (0x8): a pad length, then the padding at the end
            streams.setdefault(stream, bytearray()).extend(payload[1:size - payload[0]] if flags & 0x8 else payload)
    assert at == len(raw), "the capture is not whole HTTP/2 frames"
    return [bytes(data) for data in streams.values()]


def grpc_messages(data: bytes) -> list[bytes]:
    """A gRPC stream's messages (1 byte compressed flag, 4 bytes length, message), each checked uncompressed."""
    out, at = [], 0
    while at < len(data):
        compressed, size = data[at], int.from_bytes(data[at + 1:at + 5], "big")
        assert not compressed, "a compressed message would hide its bytes from the search"
        out.append(data[at + 5:at + 5 + size])
        at += 5 + size
    return out


def private_variables(scenario: Scenario) -> tuple[set[str], set[float]]:
    """Every FMU variable that is not an exposed output (nor an input, fed by others), and their start values."""
    public = {n for name in scenario.federates for n in [name, *scenario.exposed(name)]}
    public |= {p for i in scenario.interactions.values() for p in i.parameters} | set(scenario.interactions)
    names: set[str] = set()
    values: set[float] = set()
    for name, spec in scenario.federates.items():
        if spec.kind != "fmu":
            continue
        for var, info in fmu_interface(scenario.fmu_path(name)).variables.items():
            if info.causality in ("input", "independent") or var in scenario.exposed(name):
                continue
            if len(var) >= 3 and not any(var in p for p in public):  # 'H', 'D': too short to search bytes for
                names.add(var)
            if isinstance(info.start, (int, float)) and float(info.start) not in ORDINARY:
                values.add(float(info.start))
    return names, values


def flagship_without_an_expose_list(folder: Path) -> Path:
    """The flagship, its furnace without expose list and its T_charge not recorded (model paths made absolute)."""
    data = yaml.safe_load(FLAGSHIP.read_text())
    for spec in data["federates"].values():
        if "fmu" in spec:
            spec["fmu"] = str((FLAGSHIP.parent / spec["fmu"]).resolve())
    del data["federates"]["furnace"]["expose"]
    data["output"]["variables"].remove("furnace.T_charge")
    folder.mkdir()
    shutil.copy(FLAGSHIP.with_name("ems.py"), folder / "ems.py")
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def deploy_direct(scenario: Scenario, out: Path, rti: str, proxies: list[Proxy]) -> RunResult:
    """A direct run deployed as docs/deploy.md does (plaintext): one `federation host` per site, and the coordinator
    (in this process, logging to caplog), each Peer service listening on a port only its recording proxy dials."""
    def peer() -> tuple[str, str]:
        port = free_port()
        proxies.append(Proxy(port, 0.0, record=True))
        return f"127.0.0.1:{port}", f"127.0.0.1:{proxies[-1].listen()}"

    (out / "logs").mkdir(parents=True)
    hosts = []
    try:
        for site in scenario.sites():
            listen, advertise = peer()
            options = HostOptions.of(scenario, site, rti, listen=listen, advertise=advertise)
            hosts.append(spawn(federation_command("host", "--options", str(options.write(
                out / LAUNCH_DIR / f"host-{site}.json"))), out / "logs" / f"host-{site}.log"))
        listen, advertise = peer()
        result = run_coordinator(scenario, out, rti, None, plot=False, routing="direct", listen=listen,
                                 advertise=advertise)
        assert [host.wait(30) for host in hosts] == [0] * len(hosts)
        return result
    finally:
        stop_all(hosts)


@pytest.mark.slow
@pytest.mark.parametrize("routing", ["relay", "direct"])
def test_nothing_private_leaves_a_host(routing: str, fmu_dist: Path, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scenario = load_scenario(flagship_without_an_expose_list(tmp_path / "scen"), {"time.stop": 1800.0})
    assert scenario.exposed("furnace") == ["P_el", "T_chamber"]  # connected, recorded: not T_charge
    names, values = private_variables(scenario)
    assert {"P_mech", "agc_state", "R_droop", "pi_integrator", "cycle_phase", "C_chamber", "Q_batt",
            "R_int", "n_plugged", "T_charge"} <= names
    assert {0.05, 12e6, 160.0, 0.1, 1300.0} <= values
    tap_file, rti_log, run = tmp_path / "tap.bin", tmp_path / "rti.log", tmp_path / "run"
    rti = spawn([sys.executable, str(Path(__file__).with_name("tap_rti.py")), str(tap_file)], rti_log,
                stdout=subprocess.PIPE)
    proxies: list[Proxy] = []
    try:
        assert rti.stdout is not None
        target = rti.stdout.readline().decode().strip().rsplit(" ", 1)[1]
        result = (run_grpc(scenario, run, plot=False, rti=target, routing="relay") if routing == "relay"
                  else deploy_direct(scenario, run, target, proxies))
    finally:
        stop_all([rti])
        for proxy in proxies:
            proxy.close()
    received = read_tap(tap_file)
    assert result.status == "completed" and received
    wire = b"".join(data for _, data in received)
    shared = shared_values(carried([data for kind, data in received if kind == b"S"]))
    links = [link for proxy in proxies for link in proxy.links]  # direct: each host's and the recorder's Peer service
    assert all(proxy.links for proxy in proxies)  # each dialled (at the address it advertised: its proxy's)
    peer_wire = b"".join(bytes(way) for link in links for way in link)
    peer_data = [data for link in links for way in link for data in http2_data(bytes(way))]
    direct = shared_values([pb.ChannelMessage.FromString(m) for there, _ in links
                            for data in http2_data(bytes(there)) for m in grpc_messages(data)])
    if routing == "direct":  # the values go host to host, the names of the set-up through the RTI
        assert len(direct) > 100 and scenario.federation.encode() in peer_wire
    shared |= direct
    assert len(shared) > 100 and b"v_pcc" in wire  # the search sees the (exposed) values and names that do flow
    values -= shared  # a parameter value an exposed output also takes (P_el = P_max at full power) is public
    files = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    expected = {"results.csv", "run.json", "audit.jsonl", "host-utility.log", "host-furnace_maker.json"}
    assert expected | ({"policy.yaml"} if routing == "relay" else set()) <= {p.name for p in files}
    logs = "\n".join(r.getMessage() for r in caplog.records).encode() + rti_log.read_bytes()
    traffic = {"RTI traffic": wire, "host-to-host traffic": peer_wire, "host-to-host messages": b"\0".join(peer_data)}
    places = {**traffic, "logs": logs, **{str(p.relative_to(tmp_path)): b for p, b in files.items()}}
    found = []
    for where, data in places.items():
        found += [f"{where}: name {n}" for n in sorted(names) if n.encode() in data]
        found += [f"{where}: value {v!r} as double" for v in sorted(values) if struct.pack("<d", v) in data]
        if where not in traffic:  # text: non-integral values as whole numbers (integers clash with times)
            found += [f"{where}: value {v!r} as text" for v in sorted(values) if v != int(v)
                      and re.search(rb"(?<![0-9.])" + re.escape(repr(v).encode()) + rb"(?![0-9.])", data)]
    assert not found, found
