"""The routing options on the command line: `run` and `coordinate` take --routing and --relay-site, `host` takes
--listen, --advertise and --no-listen; a wrong one is refused up front, naming it, before anything is written.
(That they reach the RTI, the hosts and run.json: tests/runtime/test_routing_options.py.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from federation.cli.serving import _host_options

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "tests" / "runtime" / "grpc_fixtures"
CLI = [sys.executable, "-m", "federation.cli"]


def federation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join(proc.stderr.split())


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    """The three-site chain (sites alpha, beta, gamma) of Python models."""
    shutil.copy(CHAIN / "models.py", tmp_path / "models.py")
    data = yaml.safe_load((CHAIN / "chain.yaml").read_text())
    data["time"]["stop"] = 3.0
    path = tmp_path / "chain.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("args", "fragment"), [
    (["--routing", "relay"], "--routing is for --mode grpc and ray: an embedded run is one process"),
    (["--relay-site", "beta"], "--relay-site is for --mode grpc and ray"),
    (["--mode", "grpc", "--routing", "p2p"], "unknown routing 'p2p'; use direct or relay"),
    (["--mode", "ray", "--routing", "Direct"], "unknown routing 'Direct'; use direct or relay"),
    (["--mode", "grpc", "--relay-site", "beta", "--relay-site", "gama"],
     "--relay-site: unknown site 'gama' (the scenario's sites are alpha, beta, gamma); did you mean 'gamma'?"),
    (["--mode", "grpc", "--relay-site", "coordinator"], "--relay-site: 'coordinator' is the coordinator's site"),
])
def test_run_refuses_routing_options_it_cannot_use_naming_them(scenario: Path, tmp_path: Path, args: list[str],
                                                               fragment: str) -> None:
    proc = federation("run", str(scenario), "--out", str(tmp_path / "out"), *args)
    assert proc.returncode == 2 and fragment in said(proc) and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (["--routing", "hub"], "unknown routing 'hub'; use direct or relay"),
    (["--relay-site", "Alpha"], "--relay-site: unknown site 'Alpha'"),
])
def test_coordinate_refuses_bad_routing_options_before_it_writes_anything(scenario: Path, tmp_path: Path,
                                                                         args: list[str], fragment: str) -> None:
    proc = federation("coordinate", str(scenario), "--rti", "127.0.0.1:9", "--out", str(tmp_path / "out"), *args)
    assert proc.returncode == 2 and fragment in said(proc) and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("command", "options"), [
    ("run", ["--routing", "--relay-site"]), ("coordinate", ["--routing", "--relay-site"]),
    ("host", ["--listen", "--advertise", "--no-listen"]),
])
def test_the_routing_options_are_in_the_help(command: str, options: list[str]) -> None:
    proc = federation(command, "--help")
    assert proc.returncode == 0 and all(option in proc.stdout for option in options), proc.stdout


def test_host_options_take_where_the_peer_service_listens_and_whether_it_accepts(scenario: Path) -> None:
    def options(*peer: object) -> tuple[str, str | None, bool]:
        o = _host_options(scenario, "beta", "127.0.0.1:1", 30.0, None, None, None, None, peer)  # type: ignore[arg-type]
        return o.listen, o.advertise, o.accepts

    assert options(None, None, False) == ("127.0.0.1:0", None, True)
    assert options("0.0.0.0:7000", "203.0.113.5:7000", False) == ("0.0.0.0:7000", "203.0.113.5:7000", True)
    assert options("[::1]:0", None, False) == ("[::1]:0", None, True)
    assert options(None, None, True) == ("127.0.0.1:0", None, False)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--listen", "7000"], "listen expects HOST:PORT with a port from 0 to 65535 (0: any free one), got '7000'"),
    (["--listen", "127.0.0.1:70000"], "listen expects HOST:PORT"),
    (["--advertise", "example.org:0"], "advertise expects HOST:PORT with a port from 1 to 65535"),
    (["--advertise", "0.0.0.0:7000"], "advertise 0.0.0.0:7000 is every interface, which no other host can dial"),
    (["--listen", "0.0.0.0:0"], "listen 0.0.0.0:0 is every interface, which no other host can dial: give advertise"),
    (["--no-listen", "--listen", "127.0.0.1:0"], "--no-listen: this host accepts no connection, so it takes no --listen"),
    (["--no-listen", "--advertise", "h:1"], "--no-listen: this host accepts no connection, so it takes no --advertise"),
])
def test_host_refuses_a_peer_address_it_cannot_use_naming_it(scenario: Path, args: list[str], fragment: str) -> None:
    proc = federation("host", str(scenario), "--site", "beta", "--rti", "127.0.0.1:9", *args)
    assert proc.returncode == 2 and fragment in said(proc) and "Traceback" not in proc.stderr, proc.stderr


def test_host_options_file_holds_the_peer_options_too(scenario: Path, tmp_path: Path) -> None:
    from federation.runtime.launch import HostOptions

    path = HostOptions(scenario=scenario, site="beta", rti="127.0.0.1:9", accepts=False).write(tmp_path / "o.json")
    assert HostOptions.read(path).accepts is False
    proc = federation("host", "--options", str(path), "--listen", "127.0.0.1:0")
    assert proc.returncode == 2 and "do not give --listen too" in said(proc), proc.stderr
