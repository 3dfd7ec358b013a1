"""Model Exchange FMU federate: the FMU integrated between communication points by a solver of fmpy's.

The federate keeps the stepped protocol of every federate (Jacobi, lookahead = step): at granted time t
it applies its inputs, integrates to t + h and publishes its outputs at t + h. Inside the step it is
fmpy's own Model Exchange master (fmpy.simulation.simulateME, fmpy 0.3), call for call:

- the solver (fmpy.sundials.CVodeSolver, or fmpy.simulation.ForwardEuler) steps to the next
  communication point, or to the FMU's next time event when that comes first;
- after each solver step: setTime, then completedIntegratorStep when the FMU needs it (a step event);
- a time event (reached), a state event (the solver found a root of the event indicators) or a step event
  is handled in Event Mode: enterEventMode, newDiscreteStates (FMI 3: updateDiscreteStates) until the FMU
  needs no more, enterContinuousTimeMode, and the solver is reset at that time;
- the communication points are fmpy's: start + n * step (not an accumulated sum), as are its
  closeness tests (math.isclose) and its CVode settings (maxStep = (stop - start) / 50, the relative
  tolerance given, absolute tolerances from the states' nominals).

So alone, with the same solver and tolerance, it gives fmpy.simulate_fmu(fmi_type='ModelExchange')'s
values at the output points. Inputs are held between communication points (zero-order hold, as every
federate's): an input whose value changed at a communication point is a discontinuity there, applied
as fmpy applies one (an input event): enterEventMode, the inputs set, the event iteration,
enterContinuousTimeMode, solver reset. Inputs that arrive unchanged cause no event.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fmpy.fmi1 import FMICallException

from federation.ambassador import LogicalTime, to_seconds
from federation.coupling import Clock, Wiring
from federation.kinds import ParameterValue
from federation.kinds.interface import FederateInterface

from adapters.fmu.binding import FMUError, Slave
from adapters.fmu.federate import FMUFederate

__all__ = ["DEFAULT_TOLERANCE", "ModelExchangeFederate", "chosen_interface", "option_problems"]

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 1e-5  # fmpy's, when neither the scenario nor the FMU's default experiment gives one
_isclose = math.isclose  # fmpy's closeness test (math.isclose, rel_tol 1e-9)
_MAX_EVENTS_IN_PLACE = 10_000  # events in a row at one time, before the federate gives up (a chattering model)


def chosen_interface(interface: FederateInterface, options: Mapping[str, ParameterValue]) -> str:
    """Which of the FMU's interfaces runs: the one the scenario's `interface:` names when the FMU offers it,
    else co-simulation when offered, else Model Exchange ("co_simulation" or "model_exchange")."""
    offered = interface.model_identifiers
    requested = options.get("interface")
    if isinstance(requested, str) and requested in offered:
        return requested
    return "model_exchange" if offered and "co_simulation" not in offered else "co_simulation"


def option_problems(interface: FederateInterface, options: Mapping[str, ParameterValue]) -> list[tuple[str, str]]:
    """(key, message) for FMU keys the FMU cannot honour: an interface it does not offer, a solver for an FMU
    that runs as co-simulation."""
    problems = []
    offered = interface.model_identifiers
    requested = options.get("interface")
    if isinstance(requested, str) and offered and requested not in offered:
        names = {"co_simulation": "co-simulation", "model_exchange": "Model Exchange"}
        problems.append(("interface", f"the FMU does not offer {names[requested]} (it offers "
                                      f"{' and '.join(names[key] for key in offered)} only)"))
    elif chosen_interface(interface, options) == "co_simulation":
        for key in ("solver", "tolerance"):
            if key in options:
                problems.append((key, "only Model Exchange FMUs are integrated by a solver; this FMU runs as "
                                      "co-simulation (add `interface: model_exchange` if it offers Model Exchange)"))
    return problems


class _HeldInputs:
    """What fmpy's solvers call to apply input signals inside a step: nothing here, the inputs are held."""

    def apply(self, time: float, continuous: bool = True, discrete: bool = True, after_event: bool = False) -> None:
        pass


_NO_INPUT_SIGNALS = _HeldInputs()


def _checked(model: Any, name: str) -> Callable[..., int]:
    """The FMI function `name` of fmpy's instance `model`, bound to its instance and status-checked (an
    FMICallException above Warning), as fmpy's own wrapper checks it; without that wrapper's bookkeeping,
    which the solver's callbacks would pay for on every right-hand side evaluation."""
    fn, component = model._functions[name], model.component

    def call(*args: Any) -> int:
        status: int = fn(component, *args)
        if status > 1:
            raise FMICallException(function=name, status=status)
        return status

    return call


def _cvode_solver(**kwargs: Any) -> Any:
    """fmpy's CVodeSolver with failure-reporting callbacks (adapters.fmu.solver, which loads SUNDIALS)."""
    from adapters.fmu.solver import Solver

    return Solver(**kwargs)


class _Terminated(Exception):
    """The FMU asked to end the simulation during an integration (completedIntegratorStep, an event iteration)."""


class ModelExchangeFederate(FMUFederate):
    """An FMU's Model Exchange interface, integrated by CVode (default) or forward Euler between communication
    points; variable I/O as FMUFederate's.

    An FMU that asks to end the simulation while integrating from t ends it at t, as fmpy's master ends it there
    (its last output point): the federate's outputs at t stand (`ending`, see SteppedFederate).
    """

    model_exchange = True
    _last: Sequence[float] = ()  # the outputs at the last communication point

    def __init__(
        self,
        name: str,
        site: str,
        path: Path,
        outputs: Sequence[str],
        clock: Clock,
        wiring: Wiring,
        parameters: Mapping[str, Any] | None = None,
        solver: str = "CVode",
        tolerance: float | None = None,
    ) -> None:
        super().__init__(name, site, path, outputs, clock, wiring, parameters)
        md = self.fmu.model
        if md.modelExchange is None:
            raise FMUError(f"federate {name!r} ({self.fmu.path.name}): the FMU does not offer Model Exchange")
        if solver not in ("CVode", "Euler"):
            raise FMUError(f"federate {name!r}: unknown solver {solver!r} (CVode or Euler)")
        self.solver_name = solver
        if tolerance is None:  # as fmpy.simulate_fmu: the default experiment's, else fmpy's default
            declared = getattr(md.defaultExperiment, "tolerance", None)
            tolerance = float(declared) if declared is not None else DEFAULT_TOLERANCE
        self.tolerance = tolerance
        self._fmi3 = md.fmiVersion.startswith("3")
        self._nx, self._nz = md.numberOfContinuousStates, md.numberOfEventIndicators
        self._needs_completed = bool(md.modelExchange.needsCompletedIntegratorStep)
        self._start_s, self._stop_s = to_seconds(clock.start), to_seconds(clock.stop)
        self._model: Any = None  # fmpy's FMU2Model / FMU3Model, once instantiated
        self._solver: Any = None
        self._time = self._start_s  # where the solver is (seconds)
        self._next_event: float | None = None  # the FMU's next time event, if it defined one
        self._applied: dict[str, Any] = {}  # the inputs' values as last set in the FMU
        self._getters: list[tuple[Callable[[], int], Any, list[int], bool]] | None = None  # see _prepare_hot_path

    # ------------------------------------------------------------------------------------------------ start
    def _prepare_hot_path(self, slave: Slave) -> None:
        """After initialization: the initial event iteration, Continuous-Time Mode and the solver, as fmpy's
        master does before its first step."""
        super()._prepare_hot_path(slave)  # output reads and input arrays (no native doStep: there is none)
        # Outputs of several numeric types: one bound call per type into preallocated arrays (scalars only).
        getters = [slave.array_getter(kind, vrs) for kind, vrs, _ in self._out_groups]
        scalar = not any(getattr(self._vars[n], "dimensions", None) for n in self.outputs)
        self._getters = ([(g[0], g[1], pos, kind in ("Int64", "UInt64"))
                          for g, (kind, _, pos) in zip(getters, self._out_groups) if g is not None]
                         if self._get_outputs is None and scalar and None not in getters else None)
        model = self._model = slave.slave
        at = f"at t={self._start_s} s"
        if self._call(f"the initial event iteration {at}", self._update_discrete_states):
            raise self._error(f"the initial event iteration {at}", "the FMU asked to end the simulation "
                                                                   "(terminateSimulation)")
        self._call(f"enterContinuousTimeMode {at}", model.enterContinuousTimeMode)
        self._solver = self._call(f"starting the {self.solver_name} solver {at}", self._new_solver)

    def _new_solver(self) -> Any:
        """fmpy's solver as simulateME makes it, calling the FMU's functions directly (status-checked)."""
        model, prefix = self._model, "fmi3" if self._fmi3 else "fmi2"
        self._set_time = _checked(model, f"{prefix}SetTime")
        # completedIntegratorStep(noSetFMUStatePriorToCurrentPoint = true, as fmpy passes it) into two flags
        flags = self._step_flags = (ctypes.c_bool(), ctypes.c_bool()) if self._fmi3 else (ctypes.c_int(), ctypes.c_int())
        completed = _checked(model, f"{prefix}CompletedIntegratorStep")
        self._completed_step = functools.partial(completed, True if self._fmi3 else 1, *map(ctypes.byref, flags))
        common = dict(nx=self._nx, nz=self._nz, get_x=_checked(model, f"{prefix}GetContinuousStates"),
                      set_x=_checked(model, f"{prefix}SetContinuousStates"),
                      get_dx=_checked(model, "fmi3GetContinuousStateDerivatives" if self._fmi3 else "fmi2GetDerivatives"),
                      get_z=_checked(model, f"{prefix}GetEventIndicators"), input=_NO_INPUT_SIGNALS)
        if self.solver_name == "Euler":
            from fmpy.simulation import ForwardEuler

            return ForwardEuler(**common)
        return _cvode_solver(get_nominals=_checked(model, f"{prefix}GetNominalsOfContinuousStates"),
                             set_time=self._set_time, startTime=self._start_s,
                             maxStep=(self._stop_s - self._start_s) / 50.0, relativeTolerance=self.tolerance, **common)

    def _update_discrete_states(self) -> bool:
        """The event iteration (in Event Mode or Initialization's end): newDiscreteStates (FMI 3:
        updateDiscreteStates) until the FMU needs no more. Returns whether it asked to end the simulation."""
        update = self._model.updateDiscreteStates if self._fmi3 else self._model.newDiscreteStates
        needed, terminate = True, False
        while needed and not terminate:
            needed, terminate, _, _, defined, next_time = update()
            self._next_event = float(next_time) if defined else None
        return bool(terminate)

    # ------------------------------------------------------------------------------------------------- step
    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        if self._slave is None or self._solver is None:
            raise FMUError(f"federate {self.name!r}: step at t={to_seconds(t)} s before initialization or after close")
        try:
            if self.changed:
                self._input_event(t)
            # The communication point as fmpy counts its output points: start + n * step.
            n = (t + h - self.clock.start) // h
            self._integrate(self._start_s + n * (self._h_seconds if h == self._step else to_seconds(h)))
        except FMICallException as exc:
            self._slave.failed(exc.status)
            raise self._error(f"integrating from t={to_seconds(t)} s", str(exc)) from None
        except _Terminated:
            self.ending = (t, 5)  # END_REASONS
            return self._last
        self._last = self._read_outputs(t + h)
        return self._last

    def initial_outputs(self) -> Sequence[float]:
        self._last = super().initial_outputs()
        return self._last

    def _read_outputs(self, t: LogicalTime) -> list[float]:
        getters = self._getters
        if getters is None:
            return super()._read_outputs(t)
        values = [0.0] * len(self.outputs)
        for call, got, positions, wide in getters:
            status = call()
            if status > 1:
                raise self._status_error(status, f"reading outputs at t={to_seconds(t)} s")
            for p, v in zip(positions, got):
                values[p] = float(v)
            if wide:
                self._warn_inexact(positions, list(got))
        return values

    def _input_event(self, t: LogicalTime) -> None:
        """Inputs whose value changed: a discontinuity at this communication point, handled as fmpy handles an
        input event (set in Event Mode, then the event iteration and a solver reset)."""
        applied = self._applied
        if all(name in applied and applied[name] == value for name, value in self.changed.items()):
            return
        self._model.enterEventMode()
        k = self._pack_inputs(t)
        status = self._set_inputs[k]() if k else 0
        if status > 1:
            raise self._input_error(status, t)
        applied.update(self.changed)
        self._event(self._time, entered=True)

    def _integrate(self, target: float) -> None:
        """From the solver's time to `target` (a communication point), handling every event on the way."""
        solver, stop = self._solver, self._stop_s
        time, stalled = self._time, 0
        while True:
            point = target
            next_event = self._next_event
            if next_event is not None and point > next_event and not _isclose(point, next_event):
                point = next_event
            if point > stop and not _isclose(point, stop):
                point = stop
            time_event = next_event is not None and _isclose(point, next_event)
            try:
                state_event, _, time = solver.step(time, point)
            except RuntimeError as exc:  # CVode failed: because an FMU call in its callbacks did, or on its own
                failure = getattr(solver, "failure", None)
                if isinstance(failure, FMICallException):
                    self._slave.failed(failure.status)  # type: ignore[union-attr]  # step() checked it
                raise self._error(f"integrating to t={point} s", str(failure or exc)) from None
            self._set_time(time)
            step_event = False
            if self._needs_completed:
                self._completed_step()
                step_event, terminate = bool(self._step_flags[0].value), bool(self._step_flags[1].value)
                if terminate:
                    self._time = time
                    raise _Terminated()
            if time_event or state_event or step_event:
                self._event(time)
            if _isclose(time, target) or time > stop or _isclose(time, stop):
                break
            stalled = stalled + 1 if time <= self._time else 0
            if stalled > _MAX_EVENTS_IN_PLACE:  # fmpy would loop for ever: a run never hangs silently
                raise self._error(f"integrating to t={target} s", f"{stalled} events at t={time} s without time "
                                  "advancing: the model chatters (its events keep triggering each other)")
            self._time = time
        self._time = time

    def _event(self, time: float, entered: bool = False) -> None:
        """Event Mode at `time` (`entered` already, for an input event): the event iteration, back to
        Continuous-Time Mode, the solver restarted from the states the event left."""
        model = self._model
        if not entered:
            model.enterEventMode()
        if self._update_discrete_states():
            self._time = time
            raise _Terminated()
        model.enterContinuousTimeMode()
        self._solver.reset(time)

    def close(self) -> None:
        self._solver = None  # CVode's memory is freed with it, before the FMU it calls back is
        self._model = None
        super().close()
