"""Running a scenario from Python (`run`) and reading an FMU's interface (`inspect`)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from ._engine import (MODES, ConfigurationError, FederateInterface, Mode, Routing, check_routing, claim_output,
                      load_spec, read_interface, run_mode, run_relay_sites, seconds, units_of)
from .build import Scenario
from .results import Run, read_run


def run(scenario: Scenario | str | Path, mode: Mode = "embedded", out: str | Path | None = None, *,
        force: bool = False, plot: bool = False, grant_timeout: float | None = None, address: str | None = None,
        insecure: bool = False, progress: Callable[[float], None] | None = None, routing: Routing = "direct",
        relay_sites: Iterable[str] = ()) -> Run:
    """Run a scenario (a Scenario, or a scenario file's path) to its stop time and return its Run.

    `mode`: "embedded" (one process), "grpc" (an RTI and one host process per site, mTLS with throw-away
    certificates unless `insecure`) or "ray" (one host actor per site; `address` of a running cluster,
    default a local one). `out`: the results folder, as `federation run --out` takes it (new, empty, or
    an earlier run's with `force`); None runs in a temporary folder, deleted once its results are read.
    `plot`: also draw results.png. `progress(t)` is called with the simulated time (s) as rows are recorded.
    `routing` (grpc and ray): "direct", each host sends its values straight to the hosts that take them, or
    "relay", every value through the RTI; `relay_sites`: sites that accept no connection (behind NAT or a
    firewall), added to the scenario's `relay_sites:`, whose values go through the RTI. An embedded run
    checks both and ignores them.

    A run that fails (a federate's error, a lost host, a stall) returns a Run with status "failed",
    the exception as `error` and the rows recorded up to the failure; `raise_for_status()` raises it.
    An invalid scenario (ScenarioError) or results folder (OutputRefused) raises before anything runs.
    The scenario is checked against its models here first, in every mode; a ray run whose models are
    only on the sites' nodes is for the CLI (`federation run --mode ray`), whose coordinator reads none.
    """
    if mode not in MODES:
        raise ConfigurationError(f"unknown mode {mode!r}; use {', '.join(MODES)}")
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    spec = scenario.validate()  # here first, in every mode: nothing is claimed or written for a bad scenario
    routing = check_routing(routing)
    relay_sites = run_relay_sites(spec, relay_sites)
    units = units_of(spec)
    with results_folder(out, "run", force) as folder:
        run_spec = load_spec(*scenario.file_for(folder), mode)
        tick = None if progress is None else (lambda t: progress(seconds(t)))
        error: Exception | None = None
        try:
            run_mode(mode, run_spec, folder, tick, plot, grant_timeout, address, insecure, routing, relay_sites)
        except Exception as exc:
            if not (folder / "run.json").is_file():
                raise  # it failed before the run began (RTI or hosts not started...): not a run's outcome
            error = exc  # the run recorded how it failed, and the rows up to its failure
        return read_run(folder, spec.federation, units, error, None if out is None else folder)


def inspect(fmu: str | Path) -> FederateInterface:
    """An FMU's interface, read from its modelDescription without running it: FMI version, default
    experiment, and `variables` (name -> causality, type, unit, start, description, min/max...), with
    `inputs()`, `outputs()` and `parameters()`. Raises InterfaceError naming the file when unreadable."""
    return read_interface(Path(fmu))


@contextmanager
def results_folder(out: str | Path | None, kind: Literal["run", "sweep"], force: bool = False) -> Iterator[Path]:
    """The claimed results folder of a run or sweep (`out`, relative to the working directory, by the rule
    of `federation run --out`), or a temporary one, deleted on leaving."""
    if out is not None:
        yield claim_output(Path(out), kind, force)
        return
    folder = Path(tempfile.mkdtemp(prefix=f"federation-{kind}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
