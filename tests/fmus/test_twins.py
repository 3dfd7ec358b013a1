"""Build, validation, plausibility, equivalence and robustness tests of the grid/furnace/vehicle FMUs."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import fmpy
from fmpy import simulate_fmu
from fmpy.validation import validate_fmu

from .conftest import TWINS
from .fmu_helpers import FMICallException, Twin, error_messages

OUTPUTS: dict[str, list[str]] = {
    "grid": ["f", "v_pcc"],
    "furnace": ["P_el", "T_chamber", "T_charge"],
    "vehicle": ["P_ev", "soc_mean"],
}
NOMINAL_INPUTS: dict[str, dict[str, float]] = {
    "grid": {"P_furnace": 5e6, "P_ev": 1e6},
    "furnace": {"f_grid": 50.0, "curtail": 0.0},
    "vehicle": {"f_grid": 50.0},
}
ALL = [(n, v) for n in TWINS for v in (2, 3)]


@pytest.mark.parametrize("name,version", ALL)
def test_validate(fmus: dict[tuple[str, int], Path], name: str, version: int) -> None:
    assert validate_fmu(str(fmus[(name, version)])) == []


@pytest.mark.parametrize("name,version", ALL)
def test_archive_content(fmus: dict[tuple[str, int], Path], name: str, version: int) -> None:
    with zipfile.ZipFile(fmus[(name, version)]) as zf:
        names = zf.namelist()
    assert "modelDescription.xml" in names
    assert not any(n.startswith("sources/") for n in names)
    assert not any(n.endswith((".c", ".h")) for n in names)
    assert all(n == "modelDescription.xml" or n.startswith(("binaries/", "documentation/")) for n in names)
    platform_dir = fmpy.platform if version == 2 else fmpy.platform_tuple
    assert f"binaries/{platform_dir}/{name}.so" in names


def test_incremental_build(fmus: dict[tuple[str, int], Path], build_module: ModuleType) -> None:
    mtimes = {k: os.stat(p).st_mtime_ns for k, p in fmus.items()}
    assert build_module.build() == []
    assert {k: os.stat(p).st_mtime_ns for k, p in fmus.items()} == mtimes


def test_generated_token_is_stable(build_module: ModuleType) -> None:
    assert build_module.load_spec("grid").token == build_module.load_spec("grid").token
    assert build_module.load_spec("grid").token != build_module.load_spec("vehicle").token


@pytest.mark.parametrize("name", TWINS)
def test_24h_standalone_1s_step(fmus: dict[tuple[str, int], Path], name: str) -> None:
    """24 h with a 1 s communication step through the FMI 3.0 build; plausible ranges."""
    twin = Twin(fmus[(name, 3)], 3)
    try:
        twin.set(**NOMINAL_INPUTS[name])
        twin.initialize(0.0)
        r = twin.run(86400.0, 1.0, OUTPUTS[name], sample_every=60)
    finally:
        twin.close()
    assert error_messages(twin) == []
    assert r["time"][-1] == pytest.approx(86400.0)
    for key, values in r.items():
        assert np.all(np.isfinite(values)), key
    if name == "grid":
        assert 49.0 < r["f"].min() and r["f"].max() < 51.0
        assert 49.9 < r["f"].min()  # AGC + dispatch keep f close to nominal with constant inputs
        assert 0.9 <= r["v_pcc"].min() and r["v_pcc"].max() <= 1.1
    elif name == "furnace":
        assert 250.0 <= min(r["T_chamber"].min(), r["T_charge"].min())
        assert max(r["T_chamber"].max(), r["T_charge"].max()) <= 1600.0
        assert r["P_el"].min() >= 0.0 and r["P_el"].max() <= 10e6 + 1e-6
        assert r["P_el"].max() > 9e6  # heats new charges at full power
        assert r["T_charge"].max() > 1200.0  # charges reach rolling temperature
    else:
        assert 0.0 <= r["soc_mean"].min() and r["soc_mean"].max() <= 1.0
        assert r["P_ev"].min() >= 0.0 and r["P_ev"].max() <= 100 * 11e3 + 1e-6
        assert r["P_ev"].max() > 0.5e6  # evening/night charging peak
        assert r["soc_mean"].max() > r["soc_mean"][0] + 0.2


@pytest.mark.parametrize("name", TWINS)
def test_fmi2_fmi3_equivalent(fmus: dict[tuple[str, int], Path], name: str) -> None:
    """The FMI 2.0 and FMI 3.0 builds of a twin produce the same trajectories (24 h, 60 s steps)."""
    results = [simulate_fmu(str(fmus[(name, v)]), stop_time=86400.0, output_interval=60.0,
                            start_values=NOMINAL_INPUTS[name], output=OUTPUTS[name]) for v in (2, 3)]
    assert len(results[0]) == len(results[1]) == 1441
    for out in OUTPUTS[name]:
        np.testing.assert_allclose(results[0][out], results[1][out], rtol=0.0, atol=1e-9)


@pytest.mark.parametrize("version", (2, 3))
def test_grid_load_step(fmus: dict[tuple[str, int], Path], version: int) -> None:
    """More load => frequency drops, the governor arrests the fall and frequency settles."""
    for step_input in ("P_furnace", "P_ev"):
        twin = Twin(fmus[("grid", version)], version)
        try:
            twin.set(P_furnace=5e6, P_ev=1e6)
            twin.initialize(3 * 3600.0)  # night valley: flat base load
            t_step = 3 * 3600.0 + 60.0

            def inputs(t: float) -> dict[str, float]:
                return {step_input: (5e6 if step_input == "P_furnace" else 1e6) + (10e6 if t >= t_step else 0.0)}

            r = twin.run(3 * 3600.0 + 660.0, 1.0, ["f"], inputs=inputs)
        finally:
            twin.close()
        f, t = r["f"], r["time"]
        before = f[t < t_step]
        after = f[t > t_step]
        assert np.ptp(before) < 1e-3
        nadir = after.min()
        assert nadir < before[-1] - 0.05, "10 MW step must visibly lower the frequency"
        assert nadir > 49.5, "governor must arrest the frequency fall"
        tail = f[t > t[-1] - 60.0]
        assert np.ptp(tail) < 0.01, "frequency must settle"
        assert tail[-1] > nadir + 0.01, "frequency recovers from the nadir"


@pytest.mark.parametrize("version", (2, 3))
@pytest.mark.parametrize("name,power", [("furnace", "P_el"), ("vehicle", "P_ev")])
def test_frequency_dip_reduces_power(fmus: dict[tuple[str, int], Path], version: int, name: str, power: str) -> None:
    """f_grid step 50 -> 49.6 Hz reduces the furnace and EV power."""
    t0, t_step, t_end = 0.0, 600.0, 900.0
    runs = []
    for dip in (False, True):
        twin = Twin(fmus[(name, version)], version)
        try:
            twin.initialize(t0)
            runs.append(twin.run(t_end, 1.0, [power],
                                 inputs=lambda t: {"f_grid": 49.6 if (dip and t >= t_step) else 50.0}))
        finally:
            twin.close()
    ref, dipped = runs
    after = ref["time"] > t_step
    assert ref[power][after].min() > 1e5
    assert np.all(dipped[power][after] < 0.75 * ref[power][after])
    assert np.all(dipped[power][after] >= 0.0)


def test_furnace_curtail_command(fmus: dict[tuple[str, int], Path]) -> None:
    twin = Twin(fmus[("furnace", 3)], 3)
    try:
        twin.initialize(0.0)
        r = twin.run(600.0, 1.0, ["P_el"], inputs=lambda t: {"curtail": 0.5 if t >= 300.0 else 0.0})
    finally:
        twin.close()
    assert r["P_el"][r["time"] > 300.0].max() <= 5e6 + 1e-6


BAD_PARAMS: list[tuple[str, str, float]] = [
    ("grid", "T_gov", 0.0),
    ("grid", "H", -1.0),
    ("grid", "R_droop", 0.0),
    ("furnace", "P_max", -10e6),
    ("furnace", "C_chamber", 0.0),
    ("furnace", "T_i", 0.0),
    ("vehicle", "n_ev", 0),
    ("vehicle", "n_ev", 5000),
    ("vehicle", "Q_batt", -1.0),
]


@pytest.mark.parametrize("version", (2, 3))
@pytest.mark.parametrize("name,param,value", BAD_PARAMS)
def test_invalid_parameter_rejected(fmus: dict[tuple[str, int], Path], version: int, name: str, param: str,
                                    value: float) -> None:
    twin = Twin(fmus[(name, version)], version)
    try:
        with pytest.raises(FMICallException) as exc:
            twin.initialize(0.0, **{param: value})
        assert "ExitInitializationMode" in exc.value.function
        assert exc.value.status == 3  # error
        msgs = error_messages(twin)
        assert any(f"parameter {param} must be" in m and f"(got {value:g})" in m for m in msgs), msgs
    finally:
        twin.close()


@pytest.mark.parametrize("version", (2, 3))
@pytest.mark.parametrize("name,inp,value", [("grid", "P_furnace", float("nan")), ("grid", "P_ev", float("inf")),
                                            ("furnace", "f_grid", float("nan")), ("furnace", "curtail", float("nan")),
                                            ("vehicle", "f_grid", float("nan"))])
def test_nan_input_rejected(fmus: dict[tuple[str, int], Path], version: int, name: str, inp: str, value: float) -> None:
    twin = Twin(fmus[(name, version)], version)
    try:
        twin.initialize(0.0)
        twin.do_step(0.0, 1.0)
        twin.set(**{inp: value})
        with pytest.raises(FMICallException) as exc:
            twin.do_step(1.0, 1.0)
        assert "DoStep" in exc.value.function and exc.value.status == 3
        assert any(f"input {inp} is not finite" in m for m in error_messages(twin)), twin.messages
    finally:
        twin.close()


@pytest.mark.parametrize("version", (2, 3))
def test_tunable_parameter_invalid_in_step_mode(fmus: dict[tuple[str, int], Path], version: int) -> None:
    twin = Twin(fmus[("grid", version)], version)
    try:
        twin.initialize(0.0)
        twin.set(H=0.0)
        with pytest.raises(FMICallException):
            twin.do_step(0.0, 1.0)
        assert any("parameter H must be > 0 (got 0)" in m for m in error_messages(twin))
    finally:
        twin.close()
