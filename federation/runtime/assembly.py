"""Turns a validated scenario into a FOM, the recorder and its federates (through the registry of kinds); shared by every runtime."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterable

from federation.ambassador import Federate
from federation.coupling import END_INTERACTION, END_PARAMETERS, Clock, Wiring
from federation.kinds import kind
from federation.rti import FOM
from federation.results.recorder import CsvSink, Recorder
from federation.rti.time import LogicalTime, to_ticks
from federation.scenario import Scenario
from federation.scenario.units import UNKNOWN_HERE, connection_link

from federation.runtime.driver import failure_of

log = logging.getLogger(__name__)


def build_recorder(
    scenario: Scenario, out_dir: Path, on_progress: Callable[[LogicalTime], None] | None = None
) -> Recorder:
    """The recorder federate writing out_dir/results.csv at every multiple of time.step."""
    columns = [f"{f}.{v}" for f, v in scenario.recorded()]
    sink = CsvSink(out_dir / "results.csv", columns)
    steps = {name: to_ticks(scenario.step_of(name)) for name in scenario.federates}
    return Recorder(scenario.recorded(), clock_of(scenario, scenario.time.step), sink, on_progress, steps=steps)



def build_fom(scenario: Scenario) -> FOM:
    """One object class per federate holding only its exposed outputs; interactions as declared."""
    return FOM(
        {name: scenario.exposed(name) for name in scenario.federates},
        {**{name: list(spec.parameters) for name, spec in scenario.interactions.items()},
         END_INTERACTION: list(END_PARAMETERS)},  # a model's request to end the simulation, to the recorder
    )


def clock_of(scenario: Scenario, step: float, federate: str | None = None) -> Clock:
    """A time line of the scenario with `step`; a federate's carries what its request to end the run does."""
    on_terminate = scenario.spec.on_terminate_of(federate) if federate is not None else "stop"
    return Clock(to_ticks(scenario.time.start), to_ticks(scenario.time.stop), to_ticks(step), on_terminate)


def wiring_of(scenario: Scenario, federate: str) -> Wiring:
    """Where the federate's inputs come from, with their unit conversions (federation.scenario.units)."""
    wiring = Wiring()
    for conn in scenario.inputs_of(federate):
        wiring.attributes.setdefault((conn.src_federate, conn.src_variable), []).append(conn.dst_variable)
        link = connection_link(conn, scenario.interfaces)
        if link is not None and link.conversion is not None:
            wiring.conversions[conn.dst_variable] = link.conversion
        elif link is not None and link.status == UNKNOWN_HERE:
            log.warning("%s: a unit is not known on this host (its site's model is not here): the value is taken "
                        "as is; state factor and offset in the connection to convert it", conn)
    for iname, spec in scenario.interactions.items():
        for target, param in spec.to.items():
            fed, var = target.split(".", 1)
            if fed == federate:
                wiring.interactions.setdefault((iname, param), []).append(var)
        if federate in spec.publishers:
            wiring.publishes_interactions.append(iname)
    return wiring


def build_federate(scenario: Scenario, name: str) -> Federate:
    """The federate `name`, its model loaded; a model that cannot be loaded fails the federation, naming it."""
    try:
        return _build(scenario, name)
    except Exception as exc:
        raise failure_of(name, scenario.federates[name].site, to_ticks(scenario.time.start), exc) from exc


def _build(scenario: Scenario, name: str) -> Federate:
    model = scenario.model_of(name)
    return kind(model.kind).federate(model, scenario.exposed(name), clock_of(scenario, scenario.step_of(name), name),
                                     wiring_of(scenario, name))


def build_federates(scenario: Scenario, sites: Iterable[str] | None = None) -> list[Federate]:
    """The scenario's federates in file order, optionally only those of some sites."""
    wanted = None if sites is None else set(sites)
    return [
        build_federate(scenario, name)
        for name, spec in scenario.federates.items()
        if wanted is None or spec.site in wanted
    ]
