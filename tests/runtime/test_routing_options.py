"""A distributed run's routing options reach where they act: the RTI's federation (routing, relay sites), each
host's options (where its Peer service listens, whether it accepts connections) and run.json. Real RTI and
host processes; what direct routing then does is the data plane's to test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import federation
from federation.errors import ConfigurationError
from federation.runtime.launch import HostOptions
from federation.runtime.local import run_grpc
from federation.scenario import load_scenario
from federation.server.limits import Limits
from federation.server.serving import serve

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).with_name("grpc_fixtures")
SITES = ("alpha", "beta", "gamma")


def chain(tmp_path: Path, **extra: Any) -> Path:
    """The three-site chain src (alpha) -> mid (beta) -> end (gamma), 3 s long, with `extra` top-level keys."""
    folder = tmp_path / "scenario"
    folder.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "models.py", folder / "models.py")
    data = yaml.safe_load((FIXTURES / "chain.yaml").read_text())
    data["time"]["stop"] = 3.0
    data.update(extra)
    path = folder / "chain.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture()
def rti() -> Iterator[tuple[str, Any]]:
    """An RTI served in this process (plaintext, loopback), whose federations' state the test reads."""
    server, port, service = serve("127.0.0.1:0", Limits())
    try:
        yield f"127.0.0.1:{port}", service
    finally:
        service.stop()
        server.stop(0)


def accepting(out: Path) -> dict[str, tuple[str, bool]]:
    """Each site's host options as its launcher wrote them: (listen, accepts)."""
    return {site: ((o := HostOptions.read(out / "launch" / f"host-{site}.json")).listen, o.accepts) for site in SITES}


def test_direct_routing_and_relay_sites_reach_the_rti_the_hosts_and_the_record(tmp_path: Path,
                                                                              rti: tuple[str, Any]) -> None:
    target, service = rti
    scenario = load_scenario(chain(tmp_path, relay_sites=["gamma"]))
    result = run_grpc(scenario, tmp_path / "out", plot=False, rti=target, routing="direct", relay_sites=["beta"])
    assert result.status == "completed", result.error
    state = service.federations["chain3"]
    assert (state.routing, state.relay_sites) == ("direct", frozenset({"beta", "gamma"}))
    assert accepting(tmp_path / "out") == {"alpha": ("127.0.0.1:0", True), "beta": ("127.0.0.1:0", False),
                                           "gamma": ("127.0.0.1:0", False)}
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["routing"] == "direct" and record["relay_sites"] == ["gamma", "beta"]  # the scenario's first


def test_relay_routing_from_python_opens_no_host_port_and_is_recorded(tmp_path: Path) -> None:
    run = federation.run(chain(tmp_path), mode="grpc", out=tmp_path / "out", insecure=True, routing="relay")
    assert run.status == "completed", run.error
    assert run.record["routing"] == "relay" and "relay_sites" not in run.record
    assert accepting(tmp_path / "out") == {site: ("127.0.0.1:0", False) for site in SITES}


@pytest.mark.parametrize(("kw", "fragment"), [
    ({"routing": "p2p"}, "unknown routing 'p2p'; use direct or relay"),
    ({"relay_sites": ["Beta"]}, "relay_sites: unknown site 'Beta' (the scenario's sites are alpha, beta, gamma); "
                                "did you mean 'beta'?"),
    ({"relay_sites": ["coordinator"]}, "'coordinator' is the coordinator's site"),
    ({"relay_sites": "beta"}, "expected a list of sites, got the string 'beta'"),
])
@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_bad_routing_options_are_refused_before_anything_is_written(tmp_path: Path, kw: dict[str, Any],
                                                                    fragment: str, mode: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        federation.run(chain(tmp_path), mode=mode, out=tmp_path / "out", insecure=True, **kw)  # type: ignore[arg-type]
    assert fragment in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_an_embedded_run_takes_and_ignores_good_routing_options(tmp_path: Path) -> None:
    run = federation.run(chain(tmp_path), out=tmp_path / "out", routing="relay", relay_sites=["beta"])
    assert run.status == "completed" and "routing" not in run.record


def test_coordinate_creates_the_federation_with_its_routing(tmp_path: Path, rti: tuple[str, Any]) -> None:
    """`federation coordinate --routing --relay-site`: the federation on the RTI says so, as does run.json,
    even when no site comes."""
    target, service = rti
    proc = subprocess.run([sys.executable, "-m", "federation.cli", "coordinate", str(chain(tmp_path)), "--rti", target,
                           "--out", str(tmp_path / "out"), "--join-timeout", "1", "--routing", "relay",
                           "--relay-site", "beta", "--relay-site", "alpha", "--no-plot"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1 and "did not join" in proc.stderr, proc.stderr
    state = service.federations["chain3"]
    assert (state.routing, state.relay_sites) == ("relay", frozenset({"alpha", "beta"}))
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["routing"] == "relay" and record["relay_sites"] == ["beta", "alpha"]
