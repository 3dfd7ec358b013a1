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
    from bench.ring_scenario import write_ring

    if which == "flagship":
        scenario, extra = FLAGSHIP, ["--stop", "3600"]
    else:
        scenario, extra = write_ring(tmp_path / "scenario", 4, 300, fmi="2"), []
    out = {mode: tmp_path / f"out-{mode}" for mode in ("embedded", "grpc")}
    for mode, folder in out.items():
        run = start(runs, ["run", str(scenario), "--mode", mode, "--out", str(folder), "--no-plot", *extra],
                    tmp_path, mode)
        code = run.wait(60)
        assert code == 0, f"{mode} run failed ({code}):\n{run.stderr}"
        if mode == "grpc":
            assert_no_leftovers(run, str(folder), str(tmp_path))
            assert json.loads((folder / "run.json").read_text())["mode"] == "grpc"
    embedded, grpc = (out[m] / "results.csv" for m in ("embedded", "grpc"))
    assert embedded.stat().st_size > 1000
    assert grpc.read_bytes() == embedded.read_bytes()




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
