"""The conformance suite: FMUs run alone and coupled through the federation, against fmpy as the reference master.

Shared by the tests beside it and by bench/conformance.py (which prints the table). Alone: every case is a
federate of one scenario with nothing connected, so each runs as it would alone, in one run per mode; its
columns are compared with `fmpy.simulate_fmu` on the same FMU, step and parameters. Coupled: a Jacobi
master written here on fmpy's own FMU classes (each FMU steps from t to t + h with its inputs set to the
others' outputs at t, as the federation couples them) is the reference.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import fmpy
import yaml

from federation.kinds.arrays import split_element

ROOT = Path(__file__).resolve().parents[2]
MODES: dict[str, list[str]] = {
    "embedded": [],
    "relay": ["--mode", "grpc", "--insecure", "--routing", "relay"],
    "direct": ["--mode", "grpc", "--insecure", "--routing", "direct"],
    "ray": ["--mode", "ray", "--insecure"],
}
TWINS = ("grid", "furnace", "vehicle", "node")


@dataclass(frozen=True)
class Case:
    """One FMU of the suite: where it comes from, how fmpy must run it, how close the federation must come."""

    name: str  # the federate's name in the scenario: letters, digits, '_'
    fmu: Callable[[Path], Path]  # builds (or finds) the FMU, given a folder to build in
    fmi_version: int
    interface: str = "CoSimulation"  # or "ModelExchange"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    entry: Mapping[str, Any] = field(default_factory=dict)  # more keys of its scenario entry (interface, solver...)
    fmpy_args: Mapping[str, Any] = field(default_factory=dict)  # more arguments of fmpy.simulate_fmu
    rtol: float = 0.0  # the largest relative difference allowed (0: the same numbers)
    solo: bool = False  # runs in a federation of its own (it ends the run, say)


def twin(name: str, version: int) -> Case:
    return Case(f"{name}{version}", lambda _: ROOT / "fmus" / "dist" / f"fmi{version}" / f"{name}.fmu", version)


def twin_cases() -> list[Case]:
    return [twin(name, version) for name in TWINS for version in (2, 3)]


def c_fmu(source: str, model_description: str) -> Callable[[Path], Path]:
    """A purpose-made FMU of cfmus/, built into the folder it is given."""
    from conformance.cfmu import build_c_fmu

    return lambda folder: build_c_fmu(source, model_description, folder)


def ending_cases() -> list[Case]:
    """FMUs that end the simulation (FMI 2 Discard + fmi2Terminated; FMI 3 terminateSimulation, with early return)."""
    return [Case("ending2", c_fmu("ending2.c", "ending2.xml"), 2, parameters={"t_end": 2.5}, solo=True),
            Case("ending3", c_fmu("ending3.c", "ending3.xml"), 3, parameters={"t_end": 2.5}, solo=True),
            Case("ending3_early", c_fmu("ending3.c", "ending3.xml"), 3, parameters={"t_end": 2.6, "early": 1.0},
                 fmpy_args={"early_return_allowed": True}, solo=True)]


def array_cases() -> list[Case]:
    """FMI 3 arrays: 1-D and 2-D Float64, Int32 and Boolean outputs, a size set by a structural parameter."""
    return [Case("arrays3", c_fmu("arrays3.c", "arrays3.xml"), 3, parameters={"x": 1.0})]


def exchange_cases() -> list[Case]:
    """Model Exchange FMUs integrated by fmpy's solvers: state events (bounce), time events and an input (timer),
    step events (stepper); FMI 2 and 3, CVode (and Euler for the timer)."""
    from conformance.exchange_fmus import MODELS, build_exchange_fmu

    def case(model: str, version: int, solver: str) -> Case:
        return Case(f"{model}{version}_{solver.lower()}", lambda folder: build_exchange_fmu(model, version, folder / model),
                    version, "ModelExchange", entry={"solver": solver},
                    fmpy_args={"solver": solver, "record_events": False}, rtol=1e-9)

    return [case(m, v, "CVode") for m in MODELS for v in (2, 3)] + [case("timer", v, "Euler") for v in (2, 3)]


def all_cases() -> list[Case]:
    """Every case of the suite."""
    return twin_cases() + ending_cases() + array_cases() + exchange_cases()


def outputs_of(fmu: Path) -> list[str]:
    """The FMU's output variables, in declaration order."""
    md = fmpy.read_model_description(str(fmu), validate=False)
    return [v.name for v in md.modelVariables if v.causality == "output"]


def write_scenario(folder: Path, federates: Mapping[str, Any], connections: Sequence[Any] | None = None, *,
                   federation: str = "conformance", stop: float, step: float, **extra: Any) -> Path:
    """folder/scenario.yaml with these federates and connections (and any other top-level keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump({"federation": federation, "time": {"start": 0.0, "stop": stop, "step": step},
                                    "federates": dict(federates), "connections": list(connections or []), **extra},
                                   sort_keys=False))
    return path


def cli_run(path: Path, out: Path, mode: str = "embedded", timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`federation run` of a scenario in a mode (MODES), into `out`."""
    return subprocess.run([sys.executable, "-m", "federation.cli", "run", str(path), "--out", str(out), "--no-plot",
                           "--force", *MODES[mode]], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def columns(out: Path) -> dict[str, list[float]]:
    """results.csv of a run folder, column by column."""
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    return {name: [float(row[i]) for row in rows[1:]] for i, name in enumerate(rows[0])}


def write_alone(cases: Sequence[Case], folder: Path, stop: float, step: float) -> tuple[Path, dict[str, Path]]:
    """One scenario with every case as an unconnected federate, all outputs exposed and recorded; a site per FMI
    version (so that the distributed modes cross hosts without a process per FMU)."""
    folder.mkdir(parents=True, exist_ok=True)
    fmus = {c.name: c.fmu(folder / "build") for c in cases}
    federates = {c.name: {"fmu": str(fmus[c.name]), "site": f"fmi{c.fmi_version}", "parameters": dict(c.parameters),
                          "expose": outputs_of(fmus[c.name]), **c.entry} for c in cases}
    recorded = [f"{c.name}.{o}" for c in cases for o in outputs_of(fmus[c.name])]
    return write_scenario(folder, federates, stop=stop, step=step, output={"variables": recorded}), fmus


def run(path: Path, out: Path, mode: str, timeout: float = 600) -> tuple[list[str], list[list[float]], dict[str, Any]]:
    """`federation run` in a mode: the header, the rows as numbers and run.json; raises if the run failed."""
    done = cli_run(path, out, mode, timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} run of {path} failed ({done.returncode}): {done.stderr[-3000:]}")
    with open(out / "results.csv", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, [[float(x) for x in row] for row in rows], json.loads((out / "run.json").read_text())


def reference(case: Case, fmu: Path, stop: float, step: float) -> Any:
    """fmpy's own master on the case's FMU alone: its rows at every output interval."""
    return fmpy.simulate_fmu(str(fmu), fmi_type=case.interface, stop_time=stop, output_interval=step,
                             start_values=dict(case.parameters), output=outputs_of(fmu), **case.fmpy_args)


@dataclass
class Difference:
    """How far the federation's columns of one case lie from the reference's."""

    rows: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    where: str = ""  # the column and time of the largest relative difference
    problem: str = ""  # rows or times that do not line up, if any

    @property
    def ok(self) -> bool:
        return not self.problem

    def within(self, rtol: float) -> bool:
        return self.ok and self.max_rel <= rtol


def compare(case: Case, header: list[str], rows: list[list[float]], ref: Any) -> Difference:
    """The largest difference between the case's columns and fmpy's result (times must match exactly)."""
    diff = Difference(rows=len(rows))
    if len(ref) != len(rows):
        diff.problem = f"{len(rows)} rows, fmpy has {len(ref)}"
        return diff
    columns = {name.split(".", 1)[1]: i for i, name in enumerate(header) if name.startswith(f"{case.name}.")}
    for r, row in zip(ref, rows):
        if r["time"] != row[0]:
            diff.problem = f"a row at t={row[0]}, fmpy's at t={r['time']}"
            return diff
        for var, i in columns.items():
            element = split_element(var)  # fmpy keeps an array as one field: `Y[1,3]` is its [0, 2]
            theirs = float(r[var] if element is None else r[element[0]][tuple(k - 1 for k in element[1])])
            ours = row[i]
            gap = abs(ours - theirs)
            if math.isnan(gap):
                gap = 0.0 if math.isnan(ours) and math.isnan(theirs) else math.inf
            rel = gap / max(abs(theirs), 1e-300) if gap else 0.0
            diff.max_abs = max(diff.max_abs, gap)
            if rel > diff.max_rel:
                diff.max_rel, diff.where = rel, f"{var} at t={row[0]}"
    return diff


def alone(cases: Sequence[Case], folder: Path, mode: str, stop: float = 10.0,
          step: float = 0.25) -> dict[str, Difference]:
    """Run every case alone in `mode` (all in one federation, but those `solo` each in its own); each case's
    difference to fmpy."""
    groups = [[c for c in cases if not c.solo]] + [[c] for c in cases if c.solo]
    found: dict[str, Difference] = {}
    for i, group in enumerate(g for g in groups if g):
        path, fmus = write_alone(group, folder / f"federation{i}", stop, step)
        header, rows, _ = run(path, path.parent / f"out-{mode}", mode)
        found.update({c.name: compare(c, header, rows, reference(c, fmus[c.name], stop, step)) for c in group})
    return found


# ---------------------------------------------------------------------------------------------- coupled

def jacobi_reference(fmus: Mapping[str, Path], parameters: Mapping[str, Mapping[str, Any]],
                     connections: Sequence[tuple[str, str]], stop: float, step: float,
                     recorded: Sequence[str]) -> list[list[float]]:
    """A co-simulation master on fmpy's FMU classes, coupling as the federation does: at each t every FMU's
    inputs take the others' outputs at t, then every FMU steps to t + h. Rows of `recorded` ("fed.var")."""
    slaves: dict[str, Any] = {}
    vrs: dict[str, dict[str, int]] = {}
    fmi3: dict[str, bool] = {}
    try:
        for name, path in fmus.items():
            md = fmpy.read_model_description(str(path), validate=False)
            fmi3[name] = md.fmiVersion.startswith("3")
            vrs[name] = {v.name: v.valueReference for v in md.modelVariables}
            slave = slaves[name] = fmpy.instantiate_fmu(fmpy.extract(str(path)), md, fmi_type="CoSimulation")
            for p, value in parameters.get(name, {}).items():
                (slave.setFloat64 if fmi3[name] else slave.setReal)([vrs[name][p]], [float(value)])
            if fmi3[name]:
                slave.enterInitializationMode(startTime=0.0, stopTime=stop)
                slave.exitInitializationMode()
            else:
                slave.setupExperiment(startTime=0.0, stopTime=stop)
                slave.enterInitializationMode()
                slave.exitInitializationMode()

        def get(ref: str) -> float:
            fed, var = ref.split(".", 1)
            return float((slaves[fed].getFloat64 if fmi3[fed] else slaves[fed].getReal)([vrs[fed][var]])[0])

        rows = []
        n = round(stop / step)
        for k in range(n + 1):
            t = k * step
            rows.append([round(t, 9), *(get(r) for r in recorded)])
            if k == n:
                break
            values = [(dst, get(src)) for src, dst in connections]
            for dst, value in values:
                fed, var = dst.split(".", 1)
                (slaves[fed].setFloat64 if fmi3[fed] else slaves[fed].setReal)([vrs[fed][var]], [value])
            for slave in slaves.values():
                slave.doStep(currentCommunicationPoint=t, communicationStepSize=step)
        return rows
    finally:
        for slave in slaves.values():
            slave.terminate()
            slave.freeInstance()
