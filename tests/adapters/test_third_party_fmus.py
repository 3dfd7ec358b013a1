"""Federations of third-party FMUs: FMI 2.0 from `pythonfmu`, FMI 3.0 from `pythonfmu3`.

The project's own FMUs (fmus/) are C twins built by its own scripts; these tests prove the
orchestrator also drives FMUs from other exporters. The FMUs are exported in a session fixture
from the slave classes in tests/adapters/thirdparty/ and checked against references that use
fmpy directly and nothing of the orchestrator:

1. one FMU per federation reproduces fmpy.simulate_fmu (FMI 2 and FMI 3);
2. an FMI 2 FMU and an FMI 3 FMU in an algebraic-free loop (Real, Integer and Boolean
   connections in both directions) match a hand-written Jacobi master loop;
3. with different communication steps the slow federate's outputs are held (zero-order)
   in the results between its steps, and the run matches the multi-rate Jacobi loop.

The pythonfmu(3) binaries call into the Python interpreter of the process that loads them
(Py_IsInitialized / PyGILState_Ensure), so the FMUs run here, inside pytest's interpreter.
"""

from __future__ import annotations

import csv
import logging
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import fmpy
import pytest
import yaml
from fmpy.fmi2 import FMU2Slave
from fmpy.fmi3 import FMU3Slave

from adapters.fmu.federate import FMUError
from federation.errors import FederationFailed
from federation.runtime.embedded import run_embedded
from federation.scenario import load_scenario

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SLAVES = HERE / "thirdparty"
TOL = 1e-12

LAG_OUTPUTS = ("y", "count", "rising")
INTEGRATOR_OUTPUTS = ("x", "g", "sign", "saturated")


# ------------------------------------------------------------------------------------------------------ FMU export

@dataclass(frozen=True)
class ThirdPartyFMUs:
    lag2: Path  # pythonfmu, FMI 2.0
    integrator3: Path  # pythonfmu3, FMI 3.0
    counter3_int64: Path  # pythonfmu3, FMI 3.0, Int64 variables
    unruly3: Path  # pythonfmu3, FMI 3.0, ends the simulation, warns or fails to terminate on request
    picky2: Path  # pythonfmu, FMI 2.0, refuses some values of its Integer input


@pytest.fixture(scope="session")
def third_party_fmus(tmp_path_factory: pytest.TempPathFactory) -> ThirdPartyFMUs:
    """Export both slaves with the third-party builders (a failure here is an error, never a skip)."""
    from pythonfmu.builder import FmuBuilder as Fmi2Builder
    from pythonfmu3.builder import FmuBuilder as Fmi3Builder

    assert Fmi2Builder.has_binary(), "pythonfmu ships no FMI 2.0 binary for this platform"
    assert Fmi3Builder.has_binary(), "pythonfmu3 ships no FMI 3.0 binary for this platform"
    dest = tmp_path_factory.mktemp("third_party_fmus")
    saved_path = list(sys.path)
    try:  # the builders import the slave scripts (pythonfmu leaves their folder on sys.path)
        lag2 = Path(Fmi2Builder.build_FMU(SLAVES / "tp_lag2.py", dest=dest / "fmi2", needsExecutionTool="false"))
        integrator3 = Path(Fmi3Builder.build_FMU(SLAVES / "tp_integrator3.py", dest=dest / "fmi3",
                                                 needsExecutionTool="false"))
        counter3_int64 = Path(Fmi3Builder.build_FMU(SLAVES / "tp_counter3_int64.py", dest=dest / "fmi3_int64",
                                                    needsExecutionTool="false"))
        unruly3 = Path(Fmi3Builder.build_FMU(SLAVES / "tp_unruly3.py", dest=dest / "fmi3_unruly",
                                             needsExecutionTool="false"))
        picky2 = Path(Fmi2Builder.build_FMU(SLAVES / "tp_picky2.py", dest=dest / "fmi2_picky",
                                            needsExecutionTool="false"))
    finally:
        sys.path[:] = saved_path
    return ThirdPartyFMUs(lag2=lag2, integrator3=integrator3, counter3_int64=counter3_int64, unruly3=unruly3,
                          picky2=picky2)


def test_exported_fmus_are_third_party_cs_fmus(third_party_fmus: ThirdPartyFMUs) -> None:
    md2 = fmpy.read_model_description(str(third_party_fmus.lag2))  # validates the XML
    md3 = fmpy.read_model_description(str(third_party_fmus.integrator3))
    assert (md2.fmiVersion, md3.fmiVersion) == ("2.0", "3.0")
    assert md2.generationTool.startswith("PythonFMU ") and md3.generationTool.startswith("PythonFMU3 ")
    assert md2.coSimulation is not None and md3.coSimulation is not None
    types2 = {v.name: (v.type, v.causality) for v in md2.modelVariables}
    types3 = {v.name: (v.type, v.causality) for v in md3.modelVariables}
    assert types2["bias"] == ("Integer", "input") and types2["boost"] == ("Boolean", "input")
    assert types2["count"] == ("Integer", "output") and types2["rising"] == ("Boolean", "output")
    assert types3["sign"] == ("Int32", "output") and types3["saturated"] == ("Boolean", "output")
    assert types3["x"] == ("Float64", "output") and types3["u"] == ("Float64", "input")


# --------------------------------------------------------------------------------------------------------- helpers

def write_scenario(directory: Path, doc: Mapping[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "scenario.yaml"
    path.write_text(yaml.safe_dump(dict(doc), sort_keys=False))
    return path


def run_scenario(path: Path, out_dir: Path) -> dict[str, list[float]]:
    """Run embedded; return results.csv as columns (header -> floats)."""
    result = run_embedded(load_scenario(path), out_dir, plot=False)
    assert result.status == "completed", result.error
    with open(out_dir / "results.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return {name: [float(row[i]) for row in body] for i, name in enumerate(header)}


def assert_close(actual: Sequence[float], expected: Sequence[float], what: str) -> None:
    assert len(actual) == len(expected), f"{what}: {len(actual)} values, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert math.isclose(a, e, rel_tol=TOL, abs_tol=TOL), f"{what}[{i}]: {a!r} != {e!r}"


def grid(stop: float, step: float) -> list[float]:
    n = round(stop / step)
    return [i * step for i in range(n + 1)]


class RefSlave:
    """A co-simulation FMU driven directly through fmpy (no orchestrator code involved)."""

    def __init__(self, path: Path, instance: str, parameters: Mapping[str, Any]) -> None:
        md = fmpy.read_model_description(str(path))
        assert md.coSimulation is not None
        self.fmi3 = md.fmiVersion.startswith("3")
        self.types = {v.name: v.type for v in md.modelVariables}
        self.vrs = {v.name: v.valueReference for v in md.modelVariables}
        cls = FMU3Slave if self.fmi3 else FMU2Slave
        self.fmu: Any = cls(guid=md.guid, unzipDirectory=fmpy.extract(str(path)),
                            modelIdentifier=md.coSimulation.modelIdentifier, instanceName=instance)
        self.fmu.instantiate()
        for name, value in parameters.items():
            self.set(name, value)

    def initialize(self, start: float, stop: float) -> None:
        if self.fmi3:
            self.fmu.enterInitializationMode(startTime=start, stopTime=stop)
        else:
            self.fmu.setupExperiment(startTime=start, stopTime=stop)
            self.fmu.enterInitializationMode()
        self.fmu.exitInitializationMode()

    def set(self, name: str, value: Any) -> None:
        vr, kind = [self.vrs[name]], self.types[name]
        if kind in ("Real", "Float64"):
            (self.fmu.setFloat64 if self.fmi3 else self.fmu.setReal)(vr, [float(value)])
        elif kind in ("Integer", "Int32"):
            (self.fmu.setInt32 if self.fmi3 else self.fmu.setInteger)(vr, [int(value)])
        elif kind == "Boolean":
            self.fmu.setBoolean(vr, [bool(value)])
        else:
            raise AssertionError(f"unexpected type {kind} of {name}")

    def get(self, name: str) -> float:
        vr, kind = [self.vrs[name]], self.types[name]
        if kind in ("Real", "Float64"):
            return float((self.fmu.getFloat64 if self.fmi3 else self.fmu.getReal)(vr)[0])
        if kind in ("Integer", "Int32"):
            return float((self.fmu.getInt32 if self.fmi3 else self.fmu.getInteger)(vr)[0])
        if kind == "Boolean":
            return float(bool(self.fmu.getBoolean(vr)[0]))
        raise AssertionError(f"unexpected type {kind} of {name}")

    def do_step(self, t: float, h: float) -> None:
        result = self.fmu.doStep(t, h)
        if self.fmi3:
            _event, terminate, early_return, _last = result
            assert not terminate and not early_return

    def close(self) -> None:
        self.fmu.terminate()
        self.fmu.freeInstance()


@dataclass
class RefFederate:
    slave: RefSlave
    outputs: tuple[str, ...]
    every: int  # communication step in multiples of the base step


def reference_jacobi(
    federates: Mapping[str, RefFederate],
    connections: Sequence[tuple[str, str, str, str]],
    base_step: float,
    stop: float,
) -> dict[str, list[float]]:
    """Multi-rate Jacobi master: at t each federate sets its inputs from the latest outputs of its
    sources stamped <= t, steps (t, its own step) and publishes its outputs stamped t + step.
    Returns every 'fed.var' sampled (latest stamped <= t) at every multiple of base_step."""
    n_stop = round(stop / base_step)
    for fed in federates.values():
        fed.slave.initialize(0.0, stop)
    # per federate: list of (stamp in base steps, {output: value}); initial outputs stamped 0
    published = {name: [(0, {o: fed.slave.get(o) for o in fed.outputs})] for name, fed in federates.items()}

    def latest(name: str, n: int) -> dict[str, float]:
        return [values for stamp, values in published[name] if stamp <= n][-1]

    samples: dict[str, list[float]] = {f"{name}.{o}": [] for name, fed in federates.items() for o in fed.outputs}
    for n in range(n_stop + 1):
        for name, fed in federates.items():
            for o in fed.outputs:
                samples[f"{name}.{o}"].append(latest(name, n)[o])
        if n == n_stop:
            break
        stepping = [name for name, fed in federates.items() if n % fed.every == 0]
        inputs = {name: [(dv, latest(sf, n)[sv]) for sf, sv, df, dv in connections if df == name] for name in stepping}
        for name in stepping:  # every input read above, before anyone steps: Jacobi
            fed = federates[name]
            for variable, value in inputs[name]:
                fed.slave.set(variable, value)
            fed.slave.do_step(n * base_step, fed.every * base_step)
            published[name].append((n + fed.every, {o: fed.slave.get(o) for o in fed.outputs}))
    for fed in federates.values():
        fed.slave.close()
    return samples


# ------------------------------------------------------------------------------------- 1. single-FMU federations

LAG_PARAMETERS: dict[str, Any] = {"tau": 0.35, "y0": 0.2, "substeps": 3, "u": 1.5, "bias": -1, "boost": True}
INTEGRATOR_PARAMETERS: dict[str, Any] = {"k": -0.7, "x0": 0.4, "limit": 0.25, "u": 1.0, "boost": False}


@pytest.mark.parametrize(
    ("which", "parameters", "outputs"),
    [("lag2", LAG_PARAMETERS, LAG_OUTPUTS), ("integrator3", INTEGRATOR_PARAMETERS, INTEGRATOR_OUTPUTS)],
    ids=["fmi2-pythonfmu", "fmi3-pythonfmu3"],
)
def test_single_fmu_federation_matches_fmpy_simulate(
    third_party_fmus: ThirdPartyFMUs, tmp_path: Path, which: str, parameters: dict[str, Any],
    outputs: tuple[str, ...],
) -> None:
    fmu: Path = getattr(third_party_fmus, which)
    h, stop = 0.1, 2.0
    scenario = write_scenario(tmp_path, {
        "federation": f"single_{which}",
        "time": {"start": 0.0, "stop": stop, "step": h},
        "federates": {"m": {"fmu": str(fmu), "site": "site1", "parameters": parameters}},
        "output": {"variables": [f"m.{o}" for o in outputs]},
    })
    got = run_scenario(scenario, tmp_path / "out")

    expected = fmpy.simulate_fmu(str(fmu), step_size=h, output_interval=h, stop_time=stop,
                                 start_values=parameters, output=list(outputs))
    assert_close(got["time"], [float(t) for t in expected["time"]], "time")
    assert_close(got["time"], grid(stop, h), "time")
    for o in outputs:
        assert_close(got[f"m.{o}"], [float(v) for v in expected[o]], f"m.{o}")
    # the run is not trivial: the states and the discrete outputs take more than one value
    # (g = k * u is constant here, u being a constant input)
    for o in (o for o in outputs if o != "g"):
        assert len(set(got[f"m.{o}"])) > 1, f"m.{o} never changes"


def test_fmi3_int64_output_matches_fmpy_simulate(third_party_fmus: ThirdPartyFMUs, tmp_path: Path) -> None:
    fmu, h, stop, n0 = third_party_fmus.counter3_int64, 0.1, 1.0, 7
    expected = fmpy.simulate_fmu(str(fmu), step_size=h, output_interval=h, stop_time=stop,
                                 start_values={"n0": n0}, output=["n"])
    assert [int(v) for v in expected["n"]] == list(range(n0, n0 + 11))  # the FMU itself is fine
    scenario = write_scenario(tmp_path, {
        "federation": "int64",
        "time": {"start": 0.0, "stop": stop, "step": h},
        "federates": {"c": {"fmu": str(fmu), "site": "site1", "parameters": {"n0": n0}}},
    })
    # In a child process, so that a regression (a fatal status, then calls the FMI standard forbids)
    # cannot crash the test session itself.
    out = tmp_path / "out"
    code = ("import sys; from pathlib import Path; from federation.scenario import load_scenario; "
            "from federation.runtime.embedded import run_embedded; "
            "r = run_embedded(load_scenario(sys.argv[1]), Path(sys.argv[2]), plot=False); "
            "sys.exit(r.status != 'completed')")
    proc = subprocess.run([sys.executable, "-c", code, str(scenario), str(out)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time", "c.n"]
    assert_close([float(r[1]) for r in rows[1:]], [float(v) for v in expected["n"]], "c.n")


# --------------------------------------------------------------------------- 2. FMI 2 <-> FMI 3 loop (Jacobi)

LOOP_LAG = {"tau": 0.3, "y0": 1.0, "substeps": 2}
LOOP_INTEGRATOR = {"k": -2.0, "x0": 0.5, "limit": 0.8}
# (source federate, output, destination federate, input): Real, Integer and Boolean, both directions
LOOP_CONNECTIONS = [
    ("lag", "y", "integ", "u"),
    ("lag", "rising", "integ", "boost"),
    ("integ", "x", "lag", "u"),
    ("integ", "sign", "lag", "bias"),
    ("integ", "saturated", "lag", "boost"),
]


def loop_scenario(fmus: ThirdPartyFMUs, directory: Path, stop: float, lag_step: float, integ_step: float) -> Path:
    return write_scenario(directory, {
        "federation": "pythonfmu_loop",
        "time": {"start": 0.0, "stop": stop, "step": 0.1},
        "federates": {
            "lag": {"fmu": str(fmus.lag2), "site": "site1", "step": lag_step, "parameters": LOOP_LAG},
            "integ": {"fmu": str(fmus.integrator3), "site": "site2", "step": integ_step,
                      "parameters": LOOP_INTEGRATOR},
        },
        "connections": [f"{sf}.{sv} -> {df}.{dv}" for sf, sv, df, dv in LOOP_CONNECTIONS],
        "output": {"variables": [f"lag.{o}" for o in LAG_OUTPUTS] + [f"integ.{o}" for o in INTEGRATOR_OUTPUTS]},
    })


def loop_reference(fmus: ThirdPartyFMUs, stop: float, lag_every: int, integ_every: int) -> dict[str, list[float]]:
    return reference_jacobi(
        {
            "lag": RefFederate(RefSlave(fmus.lag2, "ref_lag", LOOP_LAG), LAG_OUTPUTS, lag_every),
            "integ": RefFederate(RefSlave(fmus.integrator3, "ref_integ", LOOP_INTEGRATOR), INTEGRATOR_OUTPUTS,
                                 integ_every),
        },
        LOOP_CONNECTIONS, 0.1, stop,
    )


def test_fmi2_fmi3_loop_matches_reference_jacobi(third_party_fmus: ThirdPartyFMUs, tmp_path: Path) -> None:
    stop = 6.0
    got = run_scenario(loop_scenario(third_party_fmus, tmp_path, stop, 0.1, 0.1), tmp_path / "out")
    expected = loop_reference(third_party_fmus, stop, 1, 1)
    assert_close(got["time"], grid(stop, 0.1), "time")
    assert set(got) == {"time", *expected}
    for column, values in expected.items():
        assert_close(got[column], values, column)
    # every connection carries a changing value, so the loop is really exercised
    for sf, sv, _df, _dv in LOOP_CONNECTIONS:
        assert len(set(got[f"{sf}.{sv}"])) > 1, f"{sf}.{sv} is constant: the connection is not exercised"
    assert got["lag.count"][-1] == round(stop / 0.1)


# ------------------------------------------------------------------------------------------------ 3. multi-rate

@pytest.mark.parametrize(("lag_step", "integ_step"), [(0.1, 0.5), (0.5, 0.1)],
                         ids=["fmi3-slow", "fmi2-slow"])
def test_multi_rate_loop_holds_slow_outputs(
    third_party_fmus: ThirdPartyFMUs, tmp_path: Path, lag_step: float, integ_step: float
) -> None:
    stop, base = 6.0, 0.1
    got = run_scenario(loop_scenario(third_party_fmus, tmp_path, stop, lag_step, integ_step), tmp_path / "out")
    times = grid(stop, base)
    assert_close(got["time"], times, "time")

    slow, outputs, slow_step = (("integ", INTEGRATOR_OUTPUTS, integ_step) if integ_step > lag_step
                                else ("lag", LAG_OUTPUTS, lag_step))
    fast, fast_outputs = ("lag", LAG_OUTPUTS) if slow == "integ" else ("integ", INTEGRATOR_OUTPUTS)
    ratio = round(slow_step / base)
    n_slow_steps = round(stop / slow_step)
    for o in outputs:
        column = got[f"{slow}.{o}"]
        for k in range(n_slow_steps):
            window = column[k * ratio:(k + 1) * ratio]  # [t_k, t_k + H): the value published at t_k, held
            assert window == [window[0]] * ratio, f"{slow}.{o} not held over [{k * slow_step}, {(k + 1) * slow_step})"
    # the slow federate does step: its main output changes at (some of) its communication points ...
    slow_main = got[f"{slow}.{outputs[0]}"]
    assert len({slow_main[k * ratio] for k in range(n_slow_steps + 1)}) > n_slow_steps // 2
    # ... and the fast one moves within the slow federate's steps
    fast_main = got[f"{fast}.{fast_outputs[0]}"]
    assert all(fast_main[i] != fast_main[i + 1] for i in range(1, ratio - 1))
    n_lag_steps = round(stop / lag_step)
    assert got["lag.count"][-1] == n_lag_steps
    assert got["lag.count"] == [float(int(t / lag_step + 1e-9)) for t in times]  # held between lag steps too

    expected = loop_reference(third_party_fmus, stop, round(lag_step / base), round(integ_step / base))
    for column, values in expected.items():
        assert_close(got[column], values, column)


# ------------------------------------------------------------------------------ 4. the same bytes over gRPC

def test_multi_rate_loop_over_grpc_is_byte_identical_to_embedded(
        third_party_fmus: ThirdPartyFMUs, tmp_path: Path) -> None:
    """Each FMU in its own owner's host process (site1, site2), joined to a real RTI server."""
    from federation.runtime.local import run_grpc

    scenario = load_scenario(loop_scenario(third_party_fmus, tmp_path, 6.0, 0.1, 0.5))
    embedded = run_embedded(scenario, tmp_path / "embedded", plot=False)
    grpc = run_grpc(scenario, tmp_path / "grpc", plot=False)
    assert (embedded.status, grpc.status) == ("completed", "completed"), grpc.error
    data = (tmp_path / "grpc" / "results.csv").read_bytes()
    assert data.count(b"\n") == 62  # header + 0.0 .. 6.0 s every 0.1 s
    assert data == (tmp_path / "embedded" / "results.csv").read_bytes()


# ------------------------------------------------------------------------ 4. interactions into typed inputs

COMMANDER = '''
from adapters.python import StepResult


class Commander:
    inputs = {}
    outputs = {"k": "1"}

    def __init__(self, level):
        self.level = level

    def step(self, t, dt, inputs):
        return StepResult({"k": t}, [("Cmd", {"level": self.level, "flag": 1.0})])
'''


def commanded(directory: Path, level: float, federate: str, spec: dict[str, Any], to: dict[str, str]) -> Path:
    """A scenario where a commander sends Cmd(level, flag = 1) at every step to inputs (`to`) of an FMU federate."""
    directory.mkdir()
    (directory / "commander.py").write_text(COMMANDER)
    return write_scenario(directory, {
        "federation": "commanded",
        "time": {"start": 0.0, "stop": 1.0, "step": 0.5},
        "federates": {"cmd": {"python": "commander:Commander", "site": "a", "parameters": {"level": level}},
                      federate: {**spec, "site": "b"}},
        "interactions": {"Cmd": {"parameters": ["level", "flag"], "publishers": ["cmd"],
                                 "to": {f"{federate}.{target}": p for target, p in to.items()}}},
    })


@pytest.mark.parametrize("level", [3.0, 0.7, 3e9])
def test_an_interaction_sets_integer_and_boolean_inputs_only_with_fitting_values(
        third_party_fmus: ThirdPartyFMUs, tmp_path: Path, level: float) -> None:
    scenario = commanded(tmp_path / "scen", level, "lag", {"fmu": str(third_party_fmus.lag2), "expose": ["y"]},
                         {"bias": "level", "boost": "flag"})
    if level == 3.0:
        result = run_embedded(load_scenario(scenario), tmp_path / "out", plot=False)
        assert result.status == "completed", result.error
    else:  # 0.7 used to arrive as 0, 3e9 as -1294967296
        with pytest.raises(Exception, match=rf"federate 'lag' .*setting input bias = {level!r} at t=0.5 s failed: "
                                            rf"not a valid Integer value"):
            run_embedded(load_scenario(scenario), tmp_path / "out", plot=False)


def test_an_integer_input_the_fmu_refuses_is_named_with_its_value(third_party_fmus: ThirdPartyFMUs,
                                                                   tmp_path: Path) -> None:
    scenario = commanded(tmp_path / "scen", 7.0, "box", {"fmu": str(third_party_fmus.picky2)}, {"gear": "level"})
    with pytest.raises(FederationFailed) as info:  # the value fits an Integer: the FMU itself refuses it
        run_embedded(load_scenario(scenario), tmp_path / "out", plot=False)
    assert isinstance(info.value.__cause__, FMUError)
    first, *fmu_log = str(info.value).splitlines()
    assert first.startswith("federate 'box' (TpPicky2.fmu): setting input gear = 7.0 at t=0.5 s failed: "
                            "fmi2SetInteger failed with status"), first
    assert any("there is no gear 7" in line for line in fmu_log), fmu_log


# ------------------------------------------------------------------------------ 5. an FMU that ends the run

@pytest.mark.parametrize("path", ["native", "ctypes"])
def test_an_fmu_asking_to_end_the_simulation_ends_the_run_there_naming_it(
        third_party_fmus: ThirdPartyFMUs, tmp_path: Path, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.fmu.federate as fmu_adapter

    if path == "ctypes":
        monkeypatch.setattr(fmu_adapter.native, "stepper", lambda *args: None)
    else:
        assert fmu_adapter.native.available(), "the native helper is missing or stale: `make` builds it"
    data = {
        "federation": "stopper",
        "time": {"start": 0.0, "stop": 1.0, "step": 0.1},
        "federates": {"m": {"fmu": str(third_party_fmus.unruly3), "site": "a", "parameters": {"stop_at": 3}}},
    }
    # Stepping on used to go unnoticed (the run "completed" past the FMU's request), then it failed the run.
    result = run_embedded(load_scenario(write_scenario(tmp_path / "scen", data)), tmp_path / "out", plot=False)
    assert result.status == "completed" and result.extra["ended_by"]["federate"] == "m"
    assert result.extra["ended_by"]["time"] == 0.3 and "terminateSimulation" in result.extra["ended_by"]["reason"]
    with open(tmp_path / "out" / "results.csv", newline="") as fh:
        assert [row[1] for row in csv.reader(fh)][1:] == ["0.0", "1.0", "2.0", "3.0"]  # the step it completed, too
    data["on_terminate"] = "fail"  # as it was: a failure, the step that asked to end not kept
    with pytest.raises(Exception, match=r"federate 'm' at t=0.3 s: the FMU asked to end the simulation \(FMI 3: "
                                        r"doStep set terminateSimulation\) \(the scenario says on_terminate: fail\)"):
        run_embedded(load_scenario(write_scenario(tmp_path / "scen2", data)), tmp_path / "out2", plot=False)
    with open(tmp_path / "out2" / "results.csv", newline="") as fh:
        assert [row[1] for row in csv.reader(fh)][1:] == ["0.0", "1.0", "2.0"]  # up to the last completed step


def test_an_int64_output_a_double_cannot_hold_is_reported(third_party_fmus: ThirdPartyFMUs, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    scenario = write_scenario(tmp_path / "scen", {
        "federation": "wide",
        "time": {"start": 0.0, "stop": 0.3, "step": 0.1},
        "federates": {"c": {"fmu": str(third_party_fmus.counter3_int64), "site": "a",
                            "parameters": {"n0": 2**53 - 1}}},
    })
    with caplog.at_level(logging.WARNING, logger="adapters.fmu"):
        result = run_embedded(load_scenario(scenario), tmp_path / "out", plot=False)
    assert result.status == "completed", result.error
    # Values travel and are recorded as doubles: 2**53 + 1 arrives as 2**53, 2**53 + 2 exactly; said once.
    said = [r.getMessage() for r in caplog.records if "travels and is recorded" in r.getMessage()]
    assert said == ["FMU c: n = 9007199254740993 travels and is recorded as 9007199254740992.0 "
                    "(a double holds every integer only up to 2**53)"], said


def test_fmu_warnings_and_a_failed_terminate_are_heard_and_the_run_completes(
        third_party_fmus: ThirdPartyFMUs, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    scenario = write_scenario(tmp_path / "scen", {
        "federation": "unruly",
        "time": {"start": 0.0, "stop": 2.0, "step": 0.1},
        "federates": {"m": {"fmu": str(third_party_fmus.unruly3), "site": "a",
                            "parameters": {"warn": True, "fail_terminate": True}}},
    })
    with caplog.at_level(logging.WARNING, logger="adapters.fmu"):
        result = run_embedded(load_scenario(scenario), tmp_path / "out", plot=False)
    assert result.status == "completed", result.error
    said = [r.getMessage() for r in caplog.records if r.name.startswith("adapters.fmu.")]
    warns = [m for m in said if m.startswith("FMU m warns: ")]
    assert warns[0] == "FMU m warns: step 1 is shaky" and len(warns) == 10, said  # 20 steps: the first 10 shown
    assert warns[-1].endswith("(further warnings of m are not shown)")
    assert any(m.startswith("FMU m: fmi3Terminate failed") for m in said), said
