"""The recorder: rows rebuilt from timestamped reflections, whatever its stride, and kept after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.protocol import pb
from federation.results import recorder as rec
from federation.rti import FOM, RTI
from federation.runtime.embedded import run_embedded
from federation.server.federations import FederationState
from federation.server.sessions import HostSession
from federation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


@pytest.mark.parametrize("stop", [3600.0, 3660.0])  # 720 and 732 rows: strides that do and do not divide them
def test_rows_do_not_depend_on_how_many_the_recorder_asks_for_at_once(
        fmu_dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: float) -> None:
    scenario = load_scenario(FLAGSHIP, {"time.stop": stop})
    outputs = {}
    for rows in (1, 7, 16, 1000):
        monkeypatch.setattr(rec, "ROWS_PER_REQUEST", rows)
        run_embedded(scenario, tmp_path / str(rows), plot=False)
        outputs[rows] = (tmp_path / str(rows) / "results.csv").read_bytes()
    assert len(set(outputs.values())) == 1
    times = [float(line.split(b",")[0]) for line in outputs[1].splitlines()[1:]]
    assert times == [5.0 * i for i in range(int(stop // 5.0) + 1)]


def test_a_failure_ships_an_observer_everything_below_its_safe_galt_first() -> None:
    ex = RTI().create_federation_execution("f", FOM({"src": ["y"]}))
    state = FederationState(ex, grant_timeout=1.0)
    session = HostSession(peer="coordinator", site="coordinator", federation=state)
    src, observer = ex.join("src"), ex.join(rec.RECORDER)
    ex.publish_object_class_attributes(src, "src", ["y"])
    ex.subscribe_object_class_attributes(observer, "src", ["y"])
    obj = ex.register_object_instance(src, "src")
    ex.enable_time_regulation(src, 1)
    ex.enable_time_constrained(src)
    ex.enable_time_constrained(observer)
    state.sessions[observer] = session
    state.names.update({src: "src", observer: rec.RECORDER})
    state.all_sessions.append(session)
    ex.time_advance_request(observer, 16)  # many rows at once
    for t in range(5):
        ex.update_attribute_values(src, obj, {0: float(t)}, t + 1)
        ex.time_advance_request(src, t + 1)
    ex.take_ready()
    ex.drain(observer)  # discovery and the like, already handled
    session.out.clear()  # type: ignore[union-attr]
    state.fail(src, "killed")
    shipped, failed = session.out  # type: ignore[misc]
    assert shipped.callbacks.has_galt and shipped.callbacks.galt == 6  # src granted 5, lookahead 1
    assert [i.reflect.timestamp for i in shipped.callbacks.items] == [1, 2, 3, 4, 5]
    assert failed.WhichOneof("body") == "failed" and failed.failed.federate == "src"
    assert isinstance(shipped, pb.ServerMessage)


def test_an_interrupt_while_a_row_is_written_keeps_every_row_once(fmu_dist: Path, tmp_path: Path) -> None:
    scenario = load_scenario(FLAGSHIP, {"time.stop": 600.0})
    stop_at = 300 * 10**9  # the interrupt strikes inside the write of this row, mid-batch

    def progress(t: int) -> None:
        if t == stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_embedded(scenario, tmp_path, on_progress=progress, plot=False)
    lines = (tmp_path / "results.csv").read_text().splitlines()[1:]
    times = [float(line.split(",")[0]) for line in lines]
    assert times == [5.0 * i for i in range(61)]  # 0 .. 300 s, each once, nothing half-taken added
