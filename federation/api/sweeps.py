"""Parameter sweeps from Python (`sweep`), over the sweep engine: a grid of values or Monte Carlo draws,
one federation execution each, and the reuse of earlier runs with identical inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._engine import (SWEEP_MODES, RunOutcome, SweepError, check_specs, expand, integer_parameters, run_sweep,
                      units_of, uniform)
from .build import Scenario, plain
from .results import Run, read_run
from .runs import results_folder

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class Uniform:
    """A parameter drawn uniformly from [lo, hi] in a Monte Carlo sweep (`samples=K`), whole numbers for an
    Integer parameter: `--param KEY=LO..HI` of the CLI."""

    lo: float
    hi: float


@dataclass(frozen=True, eq=False)
class SweepRun:
    """One run of a sweep, as its summary.csv row says: its parameters, status, error, wall time (s),
    metrics (per recorded variable min/max/mean, and energy_J of a variable in W), whether an earlier run
    with identical inputs was reused, and why it was run (again). `results()` reads its results."""

    name: str
    params: Mapping[str, Any]
    status: str
    error: str | None
    wall_time: float
    metrics: Mapping[str, float]
    reused: bool
    reason: str
    out: Path | None
    _federation: str = field(default="", repr=False)
    _units: Mapping[str, str | None] = field(default_factory=dict, repr=False)
    _results: Run | None = field(default=None, repr=False)

    def results(self) -> Run:
        """The run's results (read from its folder, or kept in memory when the sweep had no `out`)."""
        if self._results is not None:
            return self._results
        if self.out is None:
            raise FileNotFoundError(f"the results of run {self.name!r} were not kept")
        return read_run(self.out, self._federation, self._units, None, self.out)


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A sweep's runs, in the order of the grid (or of the draws), and its folder (None: a temporary one)."""

    runs: list[SweepRun]
    out: Path | None

    def __iter__(self) -> Iterator[SweepRun]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def completed(self) -> list[SweepRun]:
        """The runs that completed (made now or reused)."""
        return [r for r in self.runs if r.status == "completed"]

    @property
    def failed(self) -> list[SweepRun]:
        """The runs that did not complete."""
        return [r for r in self.runs if r.status != "completed"]

    def to_pandas(self) -> pandas.DataFrame:
        """summary.csv as a DataFrame, one row per run (index: run name). Needs pandas (the `pandas` extra)."""
        try:
            import pandas
        except ImportError as exc:
            raise ImportError("SweepResult.to_pandas() needs pandas, which is not installed: install the extra "
                              "with `pip install 'federation[pandas]'` (or `pip install pandas`)") from exc
        rows = [{**r.params, "status": r.status, "reused": r.reused, "reason": r.reason, "error": r.error,
                 "wall_time_s": r.wall_time, **r.metrics} for r in self.runs]
        return pandas.DataFrame(rows, index=pandas.Index([r.name for r in self.runs], name="run"))


def sweep(scenario: Scenario | str | Path, params: Mapping[str, Sequence[Any] | Uniform], *,
          samples: int | None = None, seed: int = 0, mode: Literal["embedded", "ray"] = "embedded",
          out: str | Path | None = None, force: bool = False, plot: bool = False, address: str | None = None,
          grant_timeout: float | None = None, progress: Callable[[SweepRun], None] | None = None) -> SweepResult:
    """Run the scenario once per combination of `params` (a grid), or `samples` Monte Carlo draws (`seed`).

    `params`: `{"furnace.T_set": [1200.0, 1300.0], "vehicle.n_ev": Uniform(50, 150)}`, a list of values
    per `federate.parameter` (or `time.<field>`), or a Uniform range (Monte Carlo only). `mode`:
    "embedded" (one run after the other, here) or "ray" (in parallel on a Ray cluster: `address`, default
    a local one). `out`: the sweep's folder (new, empty or an earlier sweep's, whose runs with identical
    inputs are reused unless `force`); None runs in a temporary folder and keeps every run's results in
    memory. `progress(run)` is called as each run ends.

    The scenario is validated with the first run's values before any run starts (ScenarioError); a bad
    `params` raises SweepError; after that a failed run fails alone (its SweepRun says why).
    """
    if mode not in SWEEP_MODES:
        raise SweepError(f"unknown sweep mode {mode!r}; use {' or '.join(SWEEP_MODES)}")
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    spec = scenario.validate()
    values = [(key, _values(key, given)) for key, given in params.items()]
    specs = expand(values, samples, seed, integer_parameters(spec, [key for key, _ in values]))
    units = units_of(spec)
    with results_folder(out, "sweep") as folder:
        source = scenario.file_for(folder)
        checked = check_specs(source.path, specs, source.overrides)

        def summary(outcome: RunOutcome, results: Run | None = None) -> SweepRun:
            run_dir = folder / outcome.name
            return SweepRun(outcome.name, outcome.params, outcome.status, outcome.error, outcome.wall_time,
                            outcome.metrics, outcome.skipped, outcome.reason, None if out is None else run_dir,
                            spec.federation, units, results)

        def done(outcome: RunOutcome) -> None:
            if progress is not None:
                progress(summary(outcome))

        outcomes = run_sweep(source.path, specs, folder, source.overrides, mode, force, plot, address, grant_timeout,
                             done, checked)
        runs = [summary(o, None if out is not None else read_run(folder / o.name, spec.federation, units, None, None))
                for o in outcomes]
    return SweepResult(runs, None if out is None else folder)


def _values(key: str, given: Sequence[Any] | Uniform) -> list[Any]:
    """A parameter's values for the engine: the list given, or the engine's range for a Uniform."""
    if isinstance(given, Uniform):
        if not given.lo <= given.hi:
            raise SweepError(f"params[{key!r}]: Uniform({given.lo!r}, {given.hi!r}) needs lo <= hi")
        return [uniform(key, given.lo, given.hi)]
    if isinstance(given, (str, bytes)) or not isinstance(given, Sequence) and not hasattr(given, "tolist"):
        raise SweepError(f"params[{key!r}]: give a list of values or a Uniform(lo, hi), got {given!r}")
    items = plain(list(given))
    if not items:
        raise SweepError(f"params[{key!r}]: no values")
    return list(items)
