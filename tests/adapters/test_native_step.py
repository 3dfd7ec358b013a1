"""The native stepping helper: built by make, used by the FMU adapter, and identical in results and errors to ctypes."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import native
from adapters.fmu import federate as fmu_adapter
from adapters.fmu.federate import FMUError, FMUFederate
from federation.coupling import Clock, Wiring
from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def test_the_helper_is_built_and_the_fmu_adapter_uses_it(fmu_dist: Path) -> None:
    assert native.available(), f"{native.LIBRARY} missing or stale: `make` builds it (python -m adapters.native)"
    for version in ("fmi2", "fmi3"):
        fed = FMUFederate("n", "s", fmu_dist / version / "node.fmu", ["y"], Clock(0, 10**10, 10**9),
                          Wiring(attributes={("m", "y"): ["u"]}), {"tau": 0.0})
        try:
            fed.initial_outputs()
            assert fed._native is not None
            fed.changed = {"u": 2.0}
            assert list(fed.step(0, 10**9)) == [3.0]  # y = gain * u + 1 with tau = 0
        finally:
            fed.close()


def _flagship_bytes(out: Path) -> bytes:
    # FMI 3 grid and furnace, FMI 2 vehicle, interactions: every branch of the helper
    result = run_embedded(load_scenario(FLAGSHIP, {"time.stop": 1800.0}), out, plot=False)
    assert result.status == "completed", result.error
    return (out / "results.csv").read_bytes()


def test_native_and_ctypes_paths_give_the_same_bytes(fmu_dist: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    native_bytes = _flagship_bytes(tmp_path / "native")
    monkeypatch.setattr(fmu_adapter.native, "stepper", lambda *args: None)
    assert _flagship_bytes(tmp_path / "ctypes") == native_bytes


@pytest.mark.parametrize("path", ["native", "ctypes"])
def test_a_failing_call_is_named_the_same_way_on_both_paths(fmu_dist: Path, path: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "ctypes":
        monkeypatch.setattr(fmu_adapter.native, "stepper", lambda *args: None)
    fed = FMUFederate("furnace", "s", fmu_dist / "fmi2" / "furnace.fmu", ["P_el"], Clock(0, 10**11, 10**10),
                      Wiring(attributes={("grid", "f"): ["f_grid"]}))
    try:
        fed.initial_outputs()
        assert (fed._native is not None) == (path == "native")
        fed.changed = {"f_grid": float("nan")}  # the furnace refuses a non-finite grid frequency
        with pytest.raises(FMUError, match=r"(?s)doStep at t=20\.0 s failed: status 3 \(error\)\n.*f_grid is not finite"):
            fed.step(20 * 10**9, 10**10)
    finally:
        fed.close()


def test_a_step_after_close_is_an_error_not_a_crash(fmu_dist: Path) -> None:
    fed = FMUFederate("n", "s", fmu_dist / "fmi2" / "node.fmu", ["y"], Clock(0, 10**10, 10**9),
                      Wiring(attributes={("m", "y"): ["u"]}))
    fed.initial_outputs()
    fed.close()  # unloads the FMU's library: the native call must not be made
    fed.changed = {"u": 1.0}
    with pytest.raises(FMUError, match=r"federate 'n': step at t=1\.0 s before initialization or after close"):
        fed.step(10**9, 10**9)
