"""Turns a validated scenario into a FOM and adapter federates; shared by every runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from adapters.fmu import FMUFederate
from adapters.python_model import PythonFederate
from adapters.replay import ReplayError, ReplayFederate
from adapters.stepped import Clock, SteppedFederate, Wiring
from federation.interfaces import InterfaceError, load_python_class, read_replay_csv
from federation.rti import FOM
from federation.results.recorder import CsvSink, Recorder
from federation.rti.time import LogicalTime, to_ticks
from federation.scenario import Scenario

from .driver import failure_of


def build_recorder(
    scenario: Scenario, out_dir: Path, on_progress: Callable[[LogicalTime], None] | None = None
) -> Recorder:
    """The recorder federate writing out_dir/results.csv at every multiple of time.step."""
    columns = [f"{f}.{v}" for f, v in scenario.recorded()]
    sink = CsvSink(out_dir / "results.csv", columns)
    return Recorder(scenario.recorded(), clock_of(scenario, scenario.time.step), sink, on_progress)


def build_fom(scenario: Scenario) -> FOM:
    """One object class per federate holding only its exposed outputs; interactions as declared."""
    return FOM(
        {name: scenario.exposed(name) for name in scenario.federates},
        {name: list(spec.parameters) for name, spec in scenario.interactions.items()},
    )


def clock_of(scenario: Scenario, step: float) -> Clock:
    return Clock(to_ticks(scenario.time.start), to_ticks(scenario.time.stop), to_ticks(step))


def wiring_of(scenario: Scenario, federate: str) -> Wiring:
    wiring = Wiring()
    for conn in scenario.inputs_of(federate):
        wiring.attributes.setdefault((conn.src_federate, conn.src_variable), []).append(conn.dst_variable)
    for iname, spec in scenario.interactions.items():
        for target, param in spec.to.items():
            fed, var = target.split(".", 1)
            if fed == federate:
                wiring.interactions.setdefault((iname, param), []).append(var)
        if federate in spec.publishers:
            wiring.publishes_interactions.append(iname)
    return wiring


def build_federate(scenario: Scenario, name: str) -> SteppedFederate:
    """The federate `name`, its model loaded; a model that cannot be loaded fails the federation, naming it."""
    try:
        return _build(scenario, name)
    except Exception as exc:
        raise failure_of(name, scenario.federates[name].owner, to_ticks(scenario.time.start), exc) from exc


def _build(scenario: Scenario, name: str) -> SteppedFederate:
    spec = scenario.federates[name]
    clock = clock_of(scenario, scenario.step_of(name))
    wiring = wiring_of(scenario, name)
    outputs = scenario.exposed(name)
    if spec.kind == "fmu":
        return FMUFederate(name, spec.owner, scenario.fmu_path(name), outputs, clock, wiring, spec.parameters)
    if spec.kind == "replay":
        path = scenario.replay_path(name)
        try:  # the file may have changed since validation
            series = read_replay_csv(path)
        except InterfaceError as exc:
            raise ReplayError(f"federate {name!r}: {exc}") from None
        return ReplayFederate(name, spec.owner, path, [column for column, _ in series.columns], series.times,
                              series.rows, outputs, clock, wiring)
    assert spec.python is not None
    cls = load_python_class(spec.python, scenario.search_paths())
    return PythonFederate.construct(name, spec.owner, cls, spec.parameters, outputs, clock, wiring)


def build_federates(scenario: Scenario, owners: Iterable[str] | None = None) -> list[SteppedFederate]:
    """The scenario's federates in file order, optionally only those of some owners (sites)."""
    wanted = None if owners is None else set(owners)
    return [
        build_federate(scenario, name)
        for name, spec in scenario.federates.items()
        if wanted is None or spec.owner in wanted
    ]
