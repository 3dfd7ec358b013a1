"""`federation run --mode grpc` end to end: real RTI server and host processes, no mocks.

Every run is the CLI in a child process, watched (grpc_runs.py) so that a test can inject faults into
one site's host and check that nothing outlives the run.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from grpc_runs import (ROOT, CliRun, assert_no_leftovers, chain_scenario, check_failed_run, fault_mid_run, leftovers,
                       start, wait_for_rows)

FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


# ------------------------------------------------------------------ equivalence
@pytest.mark.parametrize("which", ["flagship", "ring4"])
def test_grpc_results_are_byte_identical_to_embedded(
    which: str, fmu_dist: Path, tmp_path: Path, runs: list[CliRun]
) -> None:
    """Every routing gives the bytes of embedded mode: direct, relay, and direct with sites that accept no
    connection (their channels relayed by the RTI, mixed with direct ones in one federation)."""
    from bench.ring_scenario import write_ring

    if which == "flagship":
        scenario, extra, nat = FLAGSHIP, ["--stop", "3600"], ["--relay-site", "utility", "--relay-site", "operator"]
    else:
        scenario, extra, nat = write_ring(tmp_path / "scenario", 4, 300, fmi="2"), [], ["--relay-site", "s1"]
    variants = {"embedded": ["--mode", "embedded"], "direct": ["--mode", "grpc", "--routing", "direct"],
                "relay": ["--mode", "grpc", "--routing", "relay"], "mixed": ["--mode", "grpc", *nat]}
    out = {name: tmp_path / f"out-{name}" for name in variants}
    for name, args in variants.items():
        folder = out[name]
        run = start(runs, ["run", str(scenario), *args, "--out", str(folder), "--no-plot", *extra], tmp_path, name)
        code = run.wait(60)
        assert code == 0, f"{name} run failed ({code}):\n{run.stderr}"
        if name != "embedded":
            assert_no_leftovers(run, str(folder), str(tmp_path))
            info = json.loads((folder / "run.json").read_text())
            assert info["mode"] == "grpc" and info["routing"] == ("relay" if name == "relay" else "direct")
            plans = (folder / "audit.jsonl").read_text().count('"routing_plan"')
            assert plans == (0 if name == "relay" else 1), name  # the RTI signed one plan, or none for relay
    embedded = (out["embedded"] / "results.csv").read_bytes()
    assert len(embedded) > 1000
    for name in ("direct", "relay", "mixed"):
        assert (out[name] / "results.csv").read_bytes() == embedded, name


def test_host_killed_mid_run_fails_the_run_naming_it(tmp_path: Path, runs: list[CliRun]) -> None:
    fault_mid_run(tmp_path, runs, signal.SIGKILL, "--routing", "relay")  # direct: test_direct_failures.py


@pytest.mark.parametrize("routing", ["relay", "direct"])
def test_federate_stuck_in_its_step_is_named_by_the_grant_timeout(tmp_path: Path, runs: list[CliRun],
                                                                  routing: str) -> None:
    marker = tmp_path / "stalled"
    scenario, out = chain_scenario(tmp_path, stall_at=1500.0, marker=str(marker)), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot",
                       "--grant-timeout", "3", "--routing", routing], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    run.wait(30)
    assert marker.exists(), f"the federate never stalled:\n{run.stderr}"
    # the marker holds the wall-clock time the step started hanging; convert it to our monotonic clock
    stalled_ago = time.time() - float(marker.read_text())
    fault_at = time.monotonic() - stalled_ago
    latency, t_fail = check_failed_run(run, out, fault_at, "end", "gamma")
    assert t_fail == 1500.0
    assert "grant timeout" in " ".join(run.stderr.split())
    assert latency > 3.0  # not before the grant timeout ran out
    assert_no_leftovers(run, str(tmp_path))
    print(f"stuck step in 'end' on gamma: run exited {latency:.2f} s after the stall")


def test_silent_host_is_caught_by_the_heartbeat_timeout_and_killed(tmp_path: Path, runs: list[CliRun]) -> None:
    """A partition without a closed stream: the host is SIGSTOPped, connected but silent."""
    fault_mid_run(tmp_path, runs, signal.SIGSTOP, "--routing", "relay")  # direct: test_direct_failures.py


def test_killing_the_run_command_takes_its_rti_and_hosts_with_it(tmp_path: Path, runs: list[CliRun]) -> None:
    scenario, out = chain_scenario(tmp_path), tmp_path / "out"
    run = start(runs, ["run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot"], tmp_path, "run")
    wait_for_rows(run, out / "results.csv")
    run.poll()
    run.proc.kill()  # SIGKILL: no teardown code runs in the parent
    run.proc.wait(10)
    deadline = time.monotonic() + 5
    while leftovers(run, str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert_no_leftovers(run, str(tmp_path))
