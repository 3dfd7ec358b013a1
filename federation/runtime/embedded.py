"""Embedded runtime: the whole federation in one process, driven by plain calls to the RTI core."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from federation.ambassador import Federate, RTIAmbassador
from federation.errors import RunFailure
from federation.rti import RTI
from federation.rti.time import LogicalTime, to_seconds, to_ticks
from federation.scenario import Scenario
from federation.security.tunable import check_tunable

from federation.runtime.assembly import build_federate, build_fom, build_recorder
from federation.runtime.driver import drive
from federation.runtime.record import RunResult, model_digests, recorded_run

log = logging.getLogger(__name__)


class FederationStalled(RunFailure, RuntimeError):
    """No federate can make progress: names every waiting federate and its logical time."""


def run_embedded(
    scenario: Scenario,
    out_dir: Path,
    on_progress: Callable[[LogicalTime], None] | None = None,
    plot: bool = True,
) -> RunResult:
    """Run a scenario to its stop time; results up to the last completed step survive any error."""
    for site in {spec.site for spec in scenario.federates.values()}:
        check_tunable(scenario, site)  # the same rule as a site's host applies
    out_dir.mkdir(parents=True, exist_ok=True)
    # Callbacks are read only between federates' turns (drive): grants can be found once per turn.
    execution = RTI().create_federation_execution(scenario.federation, build_fom(scenario),
                                                  to_ticks(scenario.time.start), defer_grants=True)
    recorder = build_recorder(scenario, out_dir, on_progress)
    federates: list[Federate] = []
    with recorded_run(scenario, out_dir, recorder, "embedded", plot) as result:
        result.extra["models"] = model_digests(scenario)  # every model is loaded here
        try:
            federates.extend(build_federate(scenario, name) for name in scenario.federates)
            federates.append(recorder)
            by_handle: dict[int, Federate] = {}
            for fed in federates:
                amb = RTIAmbassador(execution, fed.name)
                by_handle[amb.handle] = fed
                fed.start(amb)
            recorder.begin()

            def stalled() -> None:
                waiting = ", ".join(f"{f.name}@{to_seconds(f.time)}s" for f in execution.federates)
                raise FederationStalled(f"federation {scenario.federation!r} stalled; waiting: {waiting}")

            drive(by_handle, execution.take_ready, execution.drain, stalled,
                  ended=lambda: recorder.ended is not None and recorder.done)
        finally:
            for fed in federates:
                if fed is recorder:
                    continue  # recorded_run closes it, after salvaging the rows below GALT
                try:
                    fed.close()
                except Exception:  # keep closing the others; the first error is what matters
                    log.exception("closing federate %s failed", fed.name)
            result.steps = {f.name: getattr(f, "steps", 0) for f in federates if f is not recorder}
    return result

