"""FMU federate: an FMI 2.0 or 3.0 co-simulation FMU stepped in the federation (Jacobi, lookahead = step).

The FMU file is extracted once per process however many instances use it (cache). The hot
path calls the FMU's C functions directly with preallocated ctypes arrays (adapters.native).
"""

from __future__ import annotations

import ctypes
import logging
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from fmpy.fmi1 import FMICallException
from fmpy.fmi2 import fmi2LastSuccessfulTime, fmi2Terminated

from federation.ambassador import TICKS_PER_SECOND, LogicalTime, to_seconds, to_ticks
from federation.coupling import Clock, Wiring

from federation.kinds.arrays import flat_values, with_elements

from adapters import native
from adapters.fmu.arrays import array_ports
from adapters.fmu.binding import FLOAT32_MAX, INT_CTYPES, STATUS_NAMES, FMUError, Slave, value_kind
from adapters.fmu.cache import ExtractedFMU, extract_fmu
from adapters.fmu.interface import fmu_interface
from adapters.stepped import SteppedFederate

__all__ = ["ExtractedFMU", "FMUError", "FMUFederate", "extract_fmu"]

log = logging.getLogger(__name__)


class FMUFederate(SteppedFederate):
    """Maps exposed outputs to attributes of one object named after the federate, inputs to subscriptions."""

    may_end = True  # FMI 2 Discard + fmi2Terminated, FMI 3 terminateSimulation
    model_exchange = False  # which of the FMU's interfaces it instantiates (adapters.fmu.exchange: True)

    def __init__(
        self,
        name: str,
        site: str,
        path: Path,
        outputs: Sequence[str],
        clock: Clock,
        wiring: Wiring,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, site, outputs, clock, wiring)
        self.fmu = extract_fmu(path)
        variables = self.fmu.variables
        self.log_lines: list[str] = []
        self._slave: Slave | None = None
        self._parameters = dict(parameters or {})
        self._vars = variables
        inputs = sorted({n for targets in wiring.attributes.values() for n in targets}
                        | {n for targets in wiring.interactions.values() for n in targets})
        # FMI 3 arrays' elements (adapters.fmu.arrays); None without any, and then nothing changes below.
        self._arrays = array_ports(with_elements(fmu_interface(path), self._parameters), variables, self.outputs,
                                   inputs) if self.fmu.model.fmiVersion.startswith("3") else None
        base = self._arrays.base if self._arrays is not None else {}
        self._out_groups = self._groups([n for n in self.outputs if n not in base])
        self._in_kind = {n: value_kind(variables[base.get(n, n)]) for n in inputs}
        self._inexact: set[str] = set()  # outputs already reported inexact as doubles
        self._int_types = {**INT_CTYPES, "Enumeration": ctypes.c_int64 if self.fmu.model.fmiVersion.startswith("3")
                           else ctypes.c_int32}
        self._in_vr = {n: variables[base.get(n, n)].valueReference for n in inputs}

    def _groups(self, names: Sequence[str]) -> list[tuple[str, list[int], list[int]]]:
        """Group variables by kind: (kind, value references, positions among the outputs)."""
        groups: dict[str, tuple[list[int], list[int]]] = {}
        for i, n in ((self.outputs.index(n), n) for n in names):
            vrs, pos = groups.setdefault(value_kind(self._vars[n]), ([], []))
            vrs.append(self._vars[n].valueReference)
            pos.append(i)
        return [(k, vrs, pos) for k, (vrs, pos) in groups.items()]

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except FMICallException as exc:
            if self._slave is not None:
                self._slave.failed(exc.status)
            raise self._error(what, str(exc)) from None

    def _status_error(self, status: int, what: str) -> FMUError:
        if self._slave is not None:
            self._slave.failed(status)
        label = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else "not an FMI status"
        return self._error(what, f"status {status} ({label})")

    def _error(self, what: str, detail: str) -> FMUError:
        tail = "\n  ".join(self.log_lines[-10:]) or "(the FMU logged nothing)"
        return FMUError(f"federate {self.name!r} ({self.fmu.path.name}): {what} failed: {detail}\n  FMU log:\n  {tail}")

    def initial_outputs(self) -> Sequence[float]:
        start, stop = to_seconds(self.clock.start), to_seconds(self.clock.stop)
        at = f"at t={start} s"  # errors during a run name the logical time, these included
        slave = self._slave = self._call(f"instantiate {at}",
                                         lambda: Slave(self.fmu, self.name, self.log_lines, self.model_exchange))
        # FMI 3: structural parameters are set in Configuration Mode, and nothing else is; then the others.
        structural = [p for p in self._parameters if slave.fmi3 and self._vars[p].causality == "structuralParameter"]
        if structural:
            self._call(f"entering configuration mode {at}", slave.slave.enterConfigurationMode)
            self._set_parameters(slave, structural, at)
            self._call(f"exiting configuration mode {at}", slave.slave.exitConfigurationMode)
        self._set_parameters(slave, [p for p in self._parameters if p not in structural], at)
        self._call(f"initialization {at}", lambda: slave.initialize(start, stop))
        self._prepare_hot_path(slave)
        return self._read_outputs(self.clock.start)

    def _set_parameters(self, slave: Slave, names: Sequence[str], at: str) -> None:
        for pname in names:
            var, value = self._vars[pname], self._parameters[pname]
            self._call(f"setting parameter {pname} = {value!r} {at}",  # an array's, every element (row-major)
                       lambda: slave.set(value_kind(var), [var.valueReference], flat_values(value)))

    def _prepare_hot_path(self, slave: Slave) -> None:
        # Outputs that are all real are read with one preallocated call.
        self._get_outputs: Callable[[], int] | None = None
        out_vr = out_val = None
        reads_arrays = self._arrays is not None and self._arrays.reads
        if len(self._out_groups) == 1 and self._out_groups[0][0] == "real" and not reads_arrays:
            vrs = self._out_groups[0][1]
            out_vr = (ctypes.c_uint32 * len(vrs))(*vrs)
            out_val = self._out_val = (ctypes.c_double * len(vrs))()
            self._get_outputs = slave.real_array_call(True, out_vr, len(vrs), out_val)
        # Changed real inputs are packed into preallocated arrays and set with one call per step;
        # calls bound for every count from 1 to all real inputs.
        arrays = self._arrays
        self._real_in_vr = {n: self._in_vr[n] for n, kind in self._in_kind.items()
                            if kind == "real" and not (arrays and arrays.is_input(n))}
        if arrays is not None:
            arrays.start(slave, self._call)
        size = len(self._real_in_vr)
        self._in_vr_arr = (ctypes.c_uint32 * max(size, 1))()
        self._in_val_arr = (ctypes.c_double * max(size, 1))()
        self._set_inputs = [slave.real_array_call(False, self._in_vr_arr, k, self._in_val_arr)
                            for k in range(size + 1)]
        self._h_seconds = to_seconds(self.clock.step)
        # Set, doStep and get in one foreign call when the helper is built (outputs read by it when all real).
        self._native_reads = out_vr is not None
        self._native = slave.native_stepper(self._in_vr_arr, self._in_val_arr, out_vr, out_val)

    def _read_outputs(self, t: LogicalTime) -> list[float]:
        """The exposed outputs at logical time t (named in errors)."""
        slave = self._slave
        assert slave is not None
        if self._get_outputs is not None:
            status = self._get_outputs()
            if status > 1:
                raise self._status_error(status, f"reading outputs at t={to_seconds(t)} s")
            return self._out_val[:]
        values = [0.0] * len(self.outputs)
        for kind, vrs, pos in self._out_groups:
            got = self._call(f"reading outputs at t={to_seconds(t)} s", lambda: slave.get(kind, vrs))
            for p, v in zip(pos, got):
                values[p] = float(v)
            if kind in ("Int64", "UInt64"):
                self._warn_inexact(pos, got)
        if self._arrays is not None:
            self._arrays.read(slave, values, lambda what, fn: self._call(f"{what} at t={to_seconds(t)} s", fn))
        return values

    def _warn_inexact(self, positions: Sequence[int], got: Sequence[int]) -> None:
        """Values travel and are recorded as doubles: say so (once per output) when one is not exact."""
        for p, v in zip(positions, got):
            name = self.outputs[p]
            if float(v) != v and name not in self._inexact:
                self._inexact.add(name)
                log.warning("FMU %s: %s = %d travels and is recorded as %r (a double holds every integer "
                            "only up to 2**53)", self.name, name, v, float(v))

    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        if self._slave is None:  # the bound calls below point into a library close() unloaded
            raise FMUError(f"federate {self.name!r}: step at t={to_seconds(t)} s before initialization or after close")
        k = self._pack_inputs(t)
        t_seconds = t / TICKS_PER_SECOND  # to_seconds, without a call on the hot path
        h_seconds = self._h_seconds if h == self._step else to_seconds(h)
        stepper = self._native
        if stepper is not None:
            status = stepper(k, t_seconds, h_seconds)
            if status:
                if (end := self._end_of_step(status & ~0xFF, status & 0xFF, t, h)) is not None:
                    return self._read_outputs(end)
                raise self._native_error(status, t, h)
            return self._out_val[:] if self._native_reads else self._read_outputs(t + h)
        status = self._set_inputs[k]() if k else 0
        if status > 1:
            raise self._input_error(status, t)
        status = self._slave.do_step(t_seconds, h_seconds)  # type: ignore[union-attr]  # checked above
        if status > 1:
            if (end := self._end_of_step(native.FAILED_STEP, status, t, h)) is not None:
                return self._read_outputs(end)
            raise self._status_error(status, f"doStep at t={t_seconds} s")
        if self._slave.fmi3 and (flag := self._slave.step_flag()):  # type: ignore[union-attr]
            if (end := self._end_of_step(flag, 0, t, h)) is not None:
                return self._read_outputs(end)
            raise self._flag_error(flag, t)
        return self._read_outputs(t + h)

    def _end_of_step(self, phase: int, status: int, t: LogicalTime, h: LogicalTime) -> LogicalTime | None:
        """If the FMU asked to end the simulation in its step from t: the time it reached (`ending` set); else None.

        As fmpy's master: FMI 2, doStep returned fmi2Discard and fmi2Terminated is true (the standard allows the
        query only then), ending at fmi2LastSuccessfulTime; FMI 3, terminateSimulation, ending at
        lastSuccessfulTime if it also returned early before t + h, else at t + h.
        """
        slave = self._slave
        assert slave is not None
        if slave.fmi3:
            if phase != native.ASKED_TERMINATE:
                return None
            context = getattr(self._native, "context", None)  # the native step wrote the flags there
            early, last = ((bool(context.early_return), context.last_time) if context is not None
                           else slave.early_return())
            reached, reason = (to_ticks(last), 3) if early and last < to_seconds(t + h) else (t + h, 2)
        else:
            if phase != native.FAILED_STEP or status != 2:  # fmi2Discard
                return None
            try:
                if not slave.slave.getBooleanStatus(fmi2Terminated):
                    return None
                reached, reason = to_ticks(slave.slave.getRealStatus(fmi2LastSuccessfulTime)), 1
            except FMICallException:  # it does not say: a plain Discard, which fails the step
                return None
        reached = min(max(reached, t), t + h)  # a time outside the step it was asked to take means its end
        self.ending = (reached, reason)
        return reached

    def _pack_inputs(self, t: LogicalTime) -> int:
        """Put the changed real inputs into the preallocated arrays (set by `_set_inputs[k]` or the native step),
        set the others now; return how many real ones were packed."""
        real_vr, vr_arr, val_arr = self._real_in_vr, self._in_vr_arr, self._in_val_arr
        k = 0
        others = False
        for name, value in self.changed.items():
            vr = real_vr.get(name)
            if vr is not None:
                vr_arr[k] = vr
                val_arr[k] = value
                k += 1
            else:
                self._set_input(name, value, t)
                others = True
        if others and self._arrays is not None and self._slave is not None:  # array inputs: set whole, once in
            self._arrays.flush(self._slave, lambda what, fn: self._call(f"{what} at t={to_seconds(t)} s", fn))
        return k

    def _set_input(self, name: str, value: Any, t: LogicalTime) -> None:
        """An input of another type than real: set on its own."""
        slave = self._slave
        assert slave is not None
        kind, vr = self._in_kind[name], self._in_vr[name]
        if kind == "real":  # an array's Float64 element: scalar ones take the path of step()
            fits = True
        elif kind == "Float32":
            fits = not math.isfinite(value) or abs(value) <= FLOAT32_MAX  # beyond it, it would become inf
        elif kind == "Boolean":
            fits = value in (0, 1)
        else:  # an interaction's parameter is a number: 0.7 or 3e9 into an Int32 would be cut silently
            c_type = self._int_types.get(kind)
            fits = float(value).is_integer() and (c_type is None or c_type(int(value)).value == value)
        what = f"setting input {name} = {value!r} at t={to_seconds(t)} s"  # as _input_error names real ones
        if not fits:
            raise self._error(what, f"not a valid {kind} value")
        if self._arrays is not None and self._arrays.is_input(name):
            self._arrays.hold(name, value)  # set with its array's other elements (step)
            return
        self._call(what, lambda: slave.set(kind, [vr], [value]))

    def _native_error(self, result: int, t: LogicalTime, h: LogicalTime) -> FMUError:
        """The error for a failed native step: which call failed is above the FMI status."""
        phase, status = result & ~0xFF, result & 0xFF
        if phase == native.FAILED_SET:
            return self._input_error(status, t)
        if phase == native.FAILED_STEP:
            return self._status_error(status, f"doStep at t={to_seconds(t)} s")
        if phase in (native.ASKED_TERMINATE, native.RETURNED_EARLY):
            return self._flag_error(phase, t)
        return self._status_error(status, f"reading outputs at t={to_seconds(t + h)} s")

    def _flag_error(self, flag: int, t: LogicalTime) -> FMUError:
        """The FMU ended its step otherwise than by completing it: stepping on would be wrong."""
        if flag == native.ASKED_TERMINATE:
            return self._error(f"doStep at t={to_seconds(t)} s", "the FMU asked to end the simulation (terminateSimulation)")
        return self._error(f"doStep at t={to_seconds(t)} s",
                           "the FMU returned early (earlyReturn), which it was not allowed to; its step is incomplete")

    def _input_error(self, status: int, t: LogicalTime) -> FMUError:
        inputs = ", ".join(f"{n} = {v!r}" for n, v in self.changed.items() if n in self._real_in_vr)
        return self._status_error(status, f"setting input {inputs} at t={to_seconds(t)} s")

    def close(self) -> None:
        if self._slave is not None:
            self._native = None  # it and the ctypes calls point into the library freeInstance unloads
            self._slave.close()
            self._slave = None
