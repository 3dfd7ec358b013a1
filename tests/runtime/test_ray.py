"""`--mode ray` and sweeps on a real three-node Ray cluster on this machine (no mocks).

The cluster (ray.cluster_utils.Cluster) is started once per module: the head advertises
site:utility, two more nodes site:furnace_maker and site:carmaker. The fault tests kill
the carmaker node (or its host actor's process) in the middle of a run.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from federation.runtime import ray as ray_run  # noqa: E402
from federation.runtime.embedded import run_embedded  # noqa: E402
from federation.errors import FederationFailed  # noqa: E402
from federation.runtime.ray import PlacementError, run_ray, site_resource  # noqa: E402
from federation.sweeps import expand, parse_param, run_sweep  # noqa: E402
from federation.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).with_name("ray_fixtures") / "three_owners.yaml"
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
SITES = {"utility": "grid", "furnace_maker": "furnace", "carmaker": "vehicle"}
DETECTION_LIMIT = 10.0  # s from the fault to run_ray raising
STORE = 80 * 1024 * 1024
NODE_SETTLE = 5.0  # s a new node must stay up: CI once lost a new node's raylet 2.4 s after it joined


def _node_args(site: str) -> dict[str, Any]:
    return {"num_cpus": 1, "object_store_memory": STORE, "resources": {site_resource(site): 100},
            "include_dashboard": False}


class ThreeSites:
    def __init__(self) -> None:
        self.cluster = Cluster(initialize_head=True, head_node_args=_node_args("utility"))
        self.nodes = {"utility": self.cluster.head_node}
        for site in ("furnace_maker", "carmaker"):
            self.nodes[site] = self.cluster.add_node(**_node_args(site))
        self.cluster.wait_for_nodes(timeout=120)  # a loaded 2-core machine starts nodes slowly
        ray.init(address=self.cluster.address, log_to_driver=False)

    def node_id(self, site: str) -> str:
        ids = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get(site_resource(site))]
        assert len(ids) == 1, ids
        return str(ids[0])

    def heal(self) -> None:
        """Replace a worker node whose raylet died outside any test's doing (once, on a loaded CI
        machine), so one lost node fails the test that saw it rather than every test after it."""
        for site, node in list(self.nodes.items()):
            if node is not self.cluster.head_node and not node.remaining_processes_alive():
                self._drop(site, node, "had died")
                self.replace(site, node.node_id)

    def replace(self, site: str, dead_id: str, attempts: int = 3) -> None:
        """Bring a (killed) site's node back for the tests that follow, once Ray knows it is gone."""
        self._await_gone(dead_id)
        for _ in range(attempts):
            if any(n["Alive"] and n["Resources"].get(site_resource(site)) for n in ray.nodes()):
                return
            node = self.nodes[site] = self.cluster.add_node(**_node_args(site))
            self.cluster.wait_for_nodes(timeout=120)  # a loaded 2-core machine starts nodes slowly
            time.sleep(NODE_SETTLE)
            if node.remaining_processes_alive():
                return
            self._drop(site, node, "died on start")
            self._await_gone(node.node_id)
        raise RuntimeError(f"no Ray node of site {site!r} stayed up after {attempts} starts")

    def _drop(self, site: str, node: Any, what: str) -> None:
        codes = {name: proc.returncode for name, proc in node.dead_processes()}
        warnings.warn(f"the Ray node of site {site!r} {what} (exit codes {codes}); replacing it")
        self.cluster.remove_node(node, allow_graceful=False)

    @staticmethod
    def _await_gone(node_id: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while any(n["NodeID"] == node_id and n["Alive"] for n in ray.nodes()) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(fmu_dist: Path) -> Iterator[ThreeSites]:
    if ray.is_initialized():
        ray.shutdown()
    three = ThreeSites()
    try:
        yield three
    finally:
        ray_run.shutdown_site_actors()
        ray.shutdown()
        three.cluster.shutdown()


@pytest.fixture
def sites(cluster: ThreeSites) -> ThreeSites:
    cluster.heal()
    return cluster


def _scenario(**overrides: Any) -> Any:
    return load_scenario(SCENARIO, overrides or None)


def test_each_fmu_loads_only_on_its_owners_node(sites: ThreeSites, tmp_path: Path) -> None:
    result = run_ray(_scenario(**{"time.stop": 60.0}), tmp_path, plot=False)
    assert result.status == "completed"
    placement = json.loads((tmp_path / "run.json").read_text())["placement"]
    assert set(placement) == set(SITES)
    for site, fed in SITES.items():
        where = placement[site]
        assert where["node_id"] == sites.node_id(site), f"{site}'s host ran on another node"
        assert [Path(p).name for p in where["models"]] == [f"{fed}.fmu"]
    assert len({p["node_id"] for p in placement.values()}) == 3


def test_results_are_byte_identical_to_embedded(sites: ThreeSites, tmp_path: Path) -> None:
    sc = _scenario()
    run_embedded(sc, tmp_path / "embedded", plot=False)
    result = run_ray(sc, tmp_path / "ray", plot=False)
    assert result.status == "completed"
    embedded = (tmp_path / "embedded" / "results.csv").read_bytes()
    assert embedded.count(b"\n") == 600 / 5 + 2  # header + t=0..600 every 5 s
    assert (tmp_path / "ray" / "results.csv").read_bytes() == embedded
    info = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert info["mode"] == "ray" and info["status"] == "completed"


def test_no_node_for_an_owner_fails_before_starting_naming_it(sites: ThreeSites, tmp_path: Path) -> None:
    # The flagship has a fourth owner, 'operator', that no node of this cluster offers.
    with pytest.raises(PlacementError, match="'operator'"):
        run_ray(load_scenario(FLAGSHIP, {"time.stop": 60.0}), tmp_path / "out", plot=False)
    assert not (tmp_path / "out").exists()


def _run_in_thread(out: Path) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run_ray(_scenario(**{"time.stop": 86400.0}), out, plot=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
        box["ended"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def _wait_rows(csv_path: Path, rows: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if csv_path.exists() and csv_path.read_bytes().count(b"\n") > rows:
            return
        time.sleep(0.05)
    pytest.fail(f"{csv_path} did not reach {rows} rows")


def _check_stopped(box: dict[str, Any], thread: threading.Thread, fault_at: float, out: Path) -> None:
    thread.join(DETECTION_LIMIT + 20)
    assert not thread.is_alive(), "run_ray did not return after the fault"
    latency = box["ended"] - fault_at
    assert latency < DETECTION_LIMIT, f"stopped {latency:.1f} s after the fault"
    exc = box.get("error")
    assert isinstance(exc, FederationFailed), repr(exc)
    assert exc.federate == "vehicle" and exc.host == "carmaker", str(exc)
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and "'vehicle'" in info["error"]
    with open(out / "results.csv") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) > 20, "the results recorded before the fault were lost"
    assert float(rows[-1][0]) <= info["last_time_s"] + 1e-9


@pytest.mark.slow
def test_killing_a_host_actor_process_stops_the_run_naming_the_federate(sites: ThreeSites, tmp_path: Path) -> None:
    out = tmp_path / "run"
    thread, box = _run_in_thread(out)
    _wait_rows(out / "results.csv", 20)
    pid = ray.get(ray_run._SITE_ACTORS["carmaker"].where.remote())["pid"]
    fault_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    _check_stopped(box, thread, fault_at, out)


@pytest.mark.slow
def test_sweep_on_the_cluster_completes_the_runs_around_a_broken_one(sites: ThreeSites, tmp_path: Path) -> None:
    specs = expand([parse_param("furnace.T_set=1200,-5,1300")])
    out = tmp_path / "sweep"
    outcomes = run_sweep(SCENARIO, specs, out, {"time.stop": 120.0}, mode="ray")
    by_name = {o.name: o for o in outcomes}
    bad = by_name["furnace.T_set=-5"]
    assert bad.status == "failed" and "T_set" in (bad.error or ""), bad.error
    assert "deserialize" not in (bad.error or ""), bad.error  # the host's exception reached the driver whole
    good = [o for o in outcomes if o is not bad]
    assert [o.status for o in good] == ["completed", "completed"]
    assert all(o.metrics["grid.f.min"] < 50.0 for o in good)
    with open(out / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["completed", "failed", "completed"]
    # hosts ran pinned to their owners (no node offers all three sites: distributed runs)
    placement = json.loads((out / "furnace.T_set=1200" / "run.json").read_text())["placement"]
    assert placement["carmaker"]["node_id"] == sites.node_id("carmaker")
    again = run_sweep(SCENARIO, specs, out, {"time.stop": 120.0}, mode="ray")
    assert [o.skipped for o in again] == [True, False, True]


@pytest.mark.slow
def test_cli_run_mode_ray_with_address(sites: ThreeSites, tmp_path: Path) -> None:
    address = sites.cluster.address
    proc = subprocess.run(
        [sys.executable, "-m", "federation.cli", "run", str(SCENARIO), "--mode", "ray", "--address", address,
         "--stop", "60", "--no-plot", "--out", str(tmp_path / "cli")],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    embedded = tmp_path / "embedded"
    run_embedded(_scenario(**{"time.stop": 60.0}), embedded, plot=False)
    assert (tmp_path / "cli" / "results.csv").read_bytes() == (embedded / "results.csv").read_bytes()


@pytest.mark.slow
def test_an_fmu_error_mid_run_is_reported_as_embedded_reports_it(sites: ThreeSites, fmu_dist: Path,
                                                                  tmp_path: Path) -> None:
    # The furnace's doStep returns an error status at 300 s, when the meter's nan reaches it. (Were the
    # vehicle fed the nan too, it would fail at the same logical time on another host, and either
    # failure could reach the RTI first.)
    (tmp_path / "meter.csv").write_text("time,f\n" + "".join(f"{t},{'nan' if t == 300 else 50.0}\n"
                                                                for t in range(0, 601, 10)))
    path = tmp_path / "scenario.yaml"
    path.write_text(f"""
federation: failing
time: {{start: 0.0, stop: 600.0, step: 5.0}}
federates:
  meter: {{replay: meter.csv, site: utility, step: 1.0}}
  furnace: {{fmu: {fmu_dist / 'fmi3' / 'furnace.fmu'}, site: furnace_maker, step: 5.0}}
  vehicle: {{fmu: {fmu_dist / 'fmi3' / 'vehicle.fmu'}, site: carmaker, step: 30.0}}
connections: [meter.f -> furnace.f_grid]
""")
    scenario = load_scenario(path)
    with pytest.raises(FederationFailed) as embedded:
        run_embedded(scenario, tmp_path / "embedded", plot=False)
    rows = (tmp_path / "embedded" / "results.csv").read_bytes()
    assert rows.splitlines()[-1].startswith(b"300.0,")
    for i in range(2):
        with pytest.raises(FederationFailed) as failed:
            run_ray(scenario, tmp_path / f"ray{i}", plot=False)
        assert str(failed.value) == str(embedded.value) and "f_grid is not finite" in str(failed.value)
        assert (failed.value.federate, failed.value.host, failed.value.time) == ("furnace", "furnace_maker", 300 * 10**9)
        assert (tmp_path / f"ray{i}" / "results.csv").read_bytes() == rows


@pytest.mark.slow  # last: the tests before it run on the nodes the cluster started with
def test_losing_a_node_stops_the_run_naming_the_federate(sites: ThreeSites, tmp_path: Path) -> None:
    out = tmp_path / "run"
    thread, box = _run_in_thread(out)
    _wait_rows(out / "results.csv", 20)
    dead_id = sites.node_id("carmaker")
    fault_at = time.monotonic()
    try:
        sites.cluster.remove_node(sites.nodes["carmaker"], allow_graceful=False)
        _check_stopped(box, thread, fault_at, out)
    finally:
        sites.replace("carmaker", dead_id)
    # the site comes back on a new node, and the next run uses it
    result = run_ray(_scenario(**{"time.stop": 30.0}), tmp_path / "after", plot=False)
    placement = json.loads((tmp_path / "after" / "run.json").read_text())["placement"]
    assert result.status == "completed" and placement["carmaker"]["node_id"] == sites.node_id("carmaker")


# ------------------------------------------------------------------------------ sweeps without Ray (fast)

def test_embedded_sweep_summary_metrics_failures_and_skips(fmu_dist: Path, tmp_path: Path) -> None:
    specs = expand([parse_param("grid.H=5,0"), parse_param("vehicle.n_ev=50,100")])
    assert [s.name for s in specs] == ["grid.H=5__vehicle.n_ev=50", "grid.H=5__vehicle.n_ev=100",
                                       "grid.H=0__vehicle.n_ev=50", "grid.H=0__vehicle.n_ev=100"]
    out = tmp_path / "sweep"
    outcomes = run_sweep(SCENARIO, specs, out, {"time.stop": 300.0}, mode="embedded")
    assert [o.status for o in outcomes] == ["completed", "completed", "failed", "failed"]
    assert all("H" in (o.error or "") for o in outcomes[2:])
    with open(out / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["grid.H"] for r in rows] == ["5", "5", "0", "0"]
    assert rows[0]["status"] == "completed" and rows[2]["status"] == "failed" and rows[2]["error"]
    # energy of a W column: trapezoid over the recorded samples
    with open(out / specs[0].name / "results.csv") as fh:
        data = list(csv.DictReader(fh))
    t = [float(r["time"]) for r in data]
    p = [float(r["furnace.P_el"]) for r in data]
    energy = sum(0.5 * (p[i] + p[i - 1]) * (t[i] - t[i - 1]) for i in range(1, len(t)))
    assert float(rows[0]["furnace.P_el.energy_J"]) == pytest.approx(energy, rel=1e-12)
    assert "grid.f.energy_J" not in rows[0] and float(rows[0]["grid.f.min"]) <= float(rows[0]["grid.f.mean"])
    assert float(rows[0]["vehicle.P_ev.energy_J"]) != float(rows[1]["vehicle.P_ev.energy_J"])

    again = run_sweep(SCENARIO, specs, out, {"time.stop": 300.0}, mode="embedded")
    assert [o.skipped for o in again] == [True, True, False, False]
    changed = run_sweep(SCENARIO, specs[:1], out, {"time.stop": 240.0}, mode="embedded")
    assert not changed[0].skipped, "a different stop time is not the same run"
    forced = run_sweep(SCENARIO, specs[:1], out, {"time.stop": 240.0}, mode="embedded", force=True)
    assert not forced[0].skipped and forced[0].status == "completed"


def test_monte_carlo_samples_are_reproducible() -> None:
    params = [parse_param("furnace.T_set=1100..1300"), parse_param("vehicle.n_ev=50,100")]
    a, b = expand(params, samples=5, seed=7), expand(params, samples=5, seed=7)
    assert [s.params for s in a] == [s.params for s in b] and len({s.name for s in a}) == 5
    assert all(1100 <= s.params["furnace.T_set"] <= 1300 and s.params["vehicle.n_ev"] in (50, 100) for s in a)
    assert [s.params for s in expand(params, samples=5, seed=8)] != [s.params for s in a]


def test_cli_sweep_embedded(fmu_dist: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "federation.cli", "sweep", str(SCENARIO), "--param", "furnace.T_set=1200,-5",
         "--mode", "embedded", "--stop", "60", "--out", str(tmp_path / "s")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # one run failed
    assert "2 runs, 1 completed (0 reused: identical inputs), 1 failed" in proc.stdout
    assert "furnace.T_set=-5" in proc.stderr and "T_set" in proc.stderr
    assert (tmp_path / "s" / "summary.csv").exists()
