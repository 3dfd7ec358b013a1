"""Owners expose only what they list: every byte the RTI receives in a grpc flagship run, and every
result and log file, is searched for each twin's private variable names and parameter values.

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

import pytest
import yaml

from adapters.fmu.interface import fmu_interface
from federation.protocol import pb
from federation.runtime.local import run_grpc
from federation.runtime.processes import spawn, stop_all
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


def shared_values(scenario: Scenario, session: list[bytes]) -> set[float]:
    """Every value sent in updates and interactions: exposed data, which other federates may see."""
    values: set[float] = set()
    for raw in session:
        outer = pb.ClientMessage.FromString(raw)
        for msg in (outer.batch.messages if outer.WhichOneof("body") == "batch" else [outer]):
            if msg.WhichOneof("body") == "step":
                for u in msg.step.updates:
                    values.update(u.values)
                for i in msg.step.interactions:
                    values.update(i.values)
    return values


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


def test_nothing_private_reaches_the_rti_the_results_or_the_logs(fmu_dist: Path, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scenario = load_scenario(flagship_without_an_expose_list(tmp_path / "scen"), {"time.stop": 1800.0})
    assert scenario.exposed("furnace") == ["P_el", "T_chamber"]  # connected, recorded: not T_charge
    names, values = private_variables(scenario)
    assert {"P_mech", "agc_state", "R_droop", "pi_integrator", "cycle_phase", "C_chamber", "Q_batt",
            "R_int", "n_plugged", "T_charge"} <= names
    assert {0.05, 12e6, 160.0, 0.1, 1300.0} <= values
    tap_file, rti_log = tmp_path / "tap.bin", tmp_path / "rti.log"
    rti = spawn([sys.executable, str(Path(__file__).with_name("tap_rti.py")), str(tap_file)], rti_log,
                stdout=subprocess.PIPE)
    try:
        assert rti.stdout is not None
        target = rti.stdout.readline().decode().strip().rsplit(" ", 1)[1]
        result = run_grpc(scenario, tmp_path / "run", plot=False, rti=target)
    finally:
        stop_all([rti])
    received = read_tap(tap_file)
    assert result.status == "completed" and received
    wire = b"".join(data for _, data in received)
    shared = shared_values(scenario, [data for kind, data in received if kind == b"S"])
    assert len(shared) > 100 and b"v_pcc" in wire  # the search sees the (exposed) values and names that do flow
    values -= shared  # a parameter value an exposed output also takes (P_el = P_max at full power) is public
    files = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert {"results.csv", "run.json", "audit.jsonl", "policy.yaml"} <= {p.name for p in files}
    logs = "\n".join(r.getMessage() for r in caplog.records).encode() + rti_log.read_bytes()
    places = {"RTI traffic": wire, "logs": logs, **{str(p.relative_to(tmp_path)): b for p, b in files.items()}}
    found = []
    for where, data in places.items():
        found += [f"{where}: name {n}" for n in sorted(names) if n.encode() in data]
        found += [f"{where}: value {v!r} as double" for v in sorted(values) if struct.pack("<d", v) in data]
        if where != "RTI traffic":  # text: non-integral values as whole numbers (integers clash with times)
            found += [f"{where}: value {v!r} as text" for v in sorted(values) if v != int(v)
                      and re.search(rb"(?<![0-9.])" + re.escape(repr(v).encode()) + rb"(?![0-9.])", data)]
    assert not found, found
