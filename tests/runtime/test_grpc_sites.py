"""Each owner's host needs only its own model: a federation whose sites share nothing but the scenario."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from federation.runtime.embedded import run_embedded
from federation.runtime.coordinator import COORDINATOR, create_federation, run_coordinator
from federation.runtime.host import connect
from federation.runtime.local import federation_command
from federation.runtime.processes import spawn, stop_all
from federation.server.serving import serve
from federation.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SITES = {"grid": "utility", "furnace": "furnace_maker", "vehicle": "carmaker"}


def site_scenario(folder: Path, fmu_dist: Path, own: set[str]) -> Path:
    """The shared scenario, in a folder holding only the FMUs of `own` federates."""
    folder.mkdir(parents=True)
    data = {
        "federation": "three-sites",
        "time": {"start": 0.0, "stop": 600.0, "step": 10.0},
        "federates": {
            "grid": {"fmu": "grid.fmu", "site": "utility", "step": 1.0, "expose": ["f", "v_pcc"]},
            "furnace": {"fmu": "furnace.fmu", "site": "furnace_maker", "step": 5.0,
                        "expose": ["P_el", "T_chamber"]},
            "vehicle": {"fmu": "vehicle.fmu", "site": "carmaker", "step": 10.0, "expose": ["P_ev", "soc_mean"]},
        },
        "connections": ["grid.f -> furnace.f_grid", "grid.f -> vehicle.f_grid",
                        "furnace.P_el -> grid.P_furnace", "vehicle.P_ev -> grid.P_ev"],
        "output": {"variables": ["grid.f", "furnace.P_el", "vehicle.P_ev"]},
    }
    for name in own:
        shutil.copy(fmu_dist / "fmi3" / f"{name}.fmu", folder / f"{name}.fmu")
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_host_validates_without_other_owners_models(fmu_dist: Path, tmp_path: Path) -> None:
    path = site_scenario(tmp_path / "utility", fmu_dist, {"grid"})
    with pytest.raises(ScenarioError, match="furnace.fmu"):
        load_scenario(path)  # the whole scenario needs every model
    scenario = load_scenario(path, site="utility")
    assert scenario.interfaces["furnace"].kind == "remote" and scenario.interfaces["grid"].kind == "fmu"


def test_a_remote_federate_without_expose_list_shares_what_the_scenario_uses(fmu_dist: Path, tmp_path: Path) -> None:
    path = site_scenario(tmp_path / "utility", fmu_dist, {"grid"})
    data = yaml.safe_load(path.read_text())
    del data["federates"]["furnace"]["expose"]
    path.write_text(yaml.safe_dump(data))
    # several sites: deny-by-default, so the scenario alone says what the furnace shares (connected, recorded)
    assert load_scenario(path, site="utility").exposed("furnace") == ["P_el"]
    for spec in data["federates"].values():
        spec["site"] = "utility"
    path.write_text(yaml.safe_dump(data))
    # one site: the furnace shares every output, which only its model tells, and the coordinator has none
    with pytest.raises(ScenarioError, match=r"federates\.furnace\.expose: required to run site 'coordinator'"):
        load_scenario(path, site=COORDINATOR)


def test_sites_sharing_only_the_scenario_match_embedded(fmu_dist: Path, tmp_path: Path) -> None:
    full = site_scenario(tmp_path / "all", fmu_dist, set(SITES))
    run_embedded(load_scenario(full), tmp_path / "embedded", plot=False)
    # the coordinator has no model at all: the FOM comes from the expose lists
    coordinator = load_scenario(site_scenario(tmp_path / "coord", fmu_dist, set()), site=COORDINATOR)
    server, port, service = serve("127.0.0.1:0")
    target = f"127.0.0.1:{port}"
    hosts: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, site in SITES.items():  # before the federation exists: they wait for it
            own = site_scenario(tmp_path / site, fmu_dist, {name})
            hosts[site] = spawn(federation_command("host", str(own), "--site", site, "--rti", target),
                                tmp_path / f"{site}.log")
        out = tmp_path / "grpc"
        result = run_coordinator(coordinator, out, target, None, plot=False, join_timeout=60)
        assert result.status == "completed"
        for site, proc in hosts.items():
            assert proc.wait(30) == 0, (tmp_path / f"{site}.log").read_text()
    finally:
        stop_all(list(hosts.values()))
        service.stop()
        server.stop(0)
    assert (out / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()


def test_a_site_with_another_copy_of_the_scenario_is_refused_at_once_naming_it(fmu_dist: Path,
                                                                                tmp_path: Path) -> None:
    coordinator = load_scenario(site_scenario(tmp_path / "coord", fmu_dist, set()), site=COORDINATOR)
    own = site_scenario(tmp_path / "carmaker", fmu_dist, {"vehicle"})
    data = yaml.safe_load(own.read_text())
    data["federates"]["vehicle"]["parameters"] = {"n_ev": 50}  # the owner's own business: still the same scenario
    own.write_text(yaml.safe_dump(data, sort_keys=False))
    data["federates"]["vehicle"]["step"] = 20.0  # not its own business: the others step against 10 s
    skewed = own.with_name("skewed.yaml")
    skewed.write_text(yaml.safe_dump(data, sort_keys=False))
    server, port, service = serve("127.0.0.1:0")
    target = f"127.0.0.1:{port}"
    try:
        create_federation(target, coordinator)
        same = load_scenario(own, site="carmaker")
        connect(target, same.federation, "carmaker", scenario_digest=same.shared_digest()).close()
        # Silently different results before; now refused at hello, without waiting out the retries.
        proc = subprocess.run(federation_command("host", str(skewed), "--site", "carmaker", "--rti", target,
                                                 "--wait", "30"), capture_output=True, text=True, timeout=25)
        assert proc.returncode == 1, proc.stderr
        said = " ".join(proc.stderr.split())
        assert "site 'carmaker' runs another scenario than the one federation 'three-sites' was created with" in said
    finally:
        service.stop()
        server.stop(0)
