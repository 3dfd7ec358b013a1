"""FMU federate: an FMI 2.0 or 3.0 co-simulation FMU driven through fmpy.

The FMU file is extracted once per process however many instances use it. The hot
path calls the FMU's C functions directly with preallocated ctypes arrays.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import itertools
import logging
import math
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import fmpy
import numpy
from fmpy.fmi1 import FMICallException
from fmpy.fmi2 import FMU2Slave, defaultCallbacks, fmi2CallbackFunctions, fmi2CallbackLoggerTYPE
from fmpy.logging import addLoggerProxy
from fmpy.model_description import ModelDescription, ScalarVariable

import federation.fmu_archive as fmu_archive
from federation.ambassador import TICKS_PER_SECOND, LogicalTime, to_seconds
from federation.errors import ModelError

from . import native
from .stepped import Clock, SteppedFederate, Wiring

log = logging.getLogger(__name__)

_INT_TYPES = ("Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64")
# fmpy accessor suffix per FMI type: FMI 3 has one per width, FMI 2 one per family.
_FMI3_ACCESSOR = {**{t: t for t in ("Float32", "Float64", "Boolean", "String", *_INT_TYPES)}, "Enumeration": "Int64"}
# What ctypes wraps an integer input's value into, silently modulo its width (FMI 2's Integer is 32-bit).
_INT_CTYPES: dict[str, Any] = {**{t: getattr(ctypes, f"c_{t.lower()}") for t in _INT_TYPES}, "Integer": ctypes.c_int32}
_FMI2_ACCESSOR = {"Real": "Real", "Integer": "Integer", "Enumeration": "Integer", "Boolean": "Boolean", "String": "String"}


class FMUError(ModelError, RuntimeError):
    """An FMU call failed; the message carries the FMU's own log lines."""


@dataclass(frozen=True)
class ExtractedFMU:
    path: Path
    directory: str
    model: ModelDescription

    @property
    def variables(self) -> dict[str, ScalarVariable]:
        return {v.name: v for v in self.model.modelVariables}


_cache: dict[tuple[str, int, int], ExtractedFMU] = {}
_cache_lock = threading.Lock()


def extract_fmu(path: Path) -> ExtractedFMU:
    """Read and unzip an FMU once per process (keyed by path, size and mtime)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is None:
            # Our own directory, its cleanup registered before extracting: a damaged zip leaves nothing behind.
            directory = tempfile.mkdtemp(prefix=f"fmu-{path.stem}-")
            atexit.register(shutil.rmtree, directory, True)
            try:
                model = _extract(path, Path(directory))
            except Exception:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            hit = _cache[key] = ExtractedFMU(path, directory, model)
        return hit


def _extract(path: Path, directory: Path) -> ModelDescription:
    """Check the archive, extract it into `directory` and read its model description (FMUError if refused)."""
    try:
        with fmu_archive.open_fmu(path) as archive:
            fmu_archive.read_model_description(path, archive)  # well-formed, within its limit, no entities
            fmu_archive.extract(path, archive, directory)
    except fmu_archive.ArchiveError as exc:
        raise FMUError(str(exc)) from None
    except Exception as exc:  # a damaged member (bad CRC, broken stream) or a full disk
        raise FMUError(f"{path}: cannot extract the FMU: {fmu_archive.clip(str(exc))}") from exc
    try:
        # The document just checked. As `validate` reads it: fmpy's schema checks refuse common
        # third-party FMUs (a unit without a UnitDefinition) that run fine; validation checks what matters.
        model = fmpy.read_model_description(str(directory), validate=False)
    except Exception as exc:  # fmpy raises bare Exceptions (and lxml's) for an XML it cannot use
        raise FMUError(f"{path}: cannot read modelDescription.xml: {fmu_archive.parse_error(exc)}") from exc
    if model.coSimulation is None:
        raise FMUError(f"{path}: the FMU does not support co-simulation")
    try:  # it names the library fmpy loads: it must not name a file outside the FMU's folder
        fmu_archive.plain_file_name(path, "modelIdentifier", model.coSimulation.modelIdentifier)
    except fmu_archive.ArchiveError as exc:
        raise FMUError(str(exc)) from None
    return model


_FLOAT32_MAX = float(numpy.finfo(numpy.float32).max)
_WARNINGS_SHOWN = 10  # per FMU instance: a model warning at every step would drown everything else
_STATUS_NAMES = ("ok", "warning", "discard", "error", "fatal", "pending")  # fmi2Status / fmi3Status


def _kind(var: ScalarVariable) -> str:
    """'real' for 64-bit floats (the hot path), else the FMI type name itself."""
    return "real" if var.type in ("Real", "Float64") else str(var.type)


def _convert(kind: str, value: Any) -> Any:
    if kind in ("real", "Float32"):
        return float(value)
    if kind == "Boolean":
        return bool(value)
    if kind == "String":
        return str(value)
    return int(value)


# fmpy formats FMI 2's variadic log messages in a native proxy that calls one process-wide logger: the
# last one addLoggerProxy installed. A logger per instance would credit every instance's messages to the
# instance created last (and leave the proxy calling a freed callback once that one is gone). So every
# FMI 2 instance gets this one logger, which finds the instance by the componentEnvironment it was given.
# (FMI 3 messages arrive formatted, through a callback of the instance's own.)
_fmi2_instances: dict[int, "_Slave"] = {}  # componentEnvironment -> live instance
_fmi2_environments = itertools.count(1)


def _fmi2_log(env: int | None, instance: bytes | None, status: int, category: bytes | None,
              message: bytes | None) -> None:
    slave = _fmi2_instances.get(env or 0)
    name = (instance or b"").decode("utf-8", "replace")
    if slave is None:  # an FMU that does not hand its componentEnvironment back: its instance name, if unique
        named = [s for s in list(_fmi2_instances.values()) if s.name == name]
        slave = named[0] if len(named) == 1 else None
    if slave is not None:
        slave.keep(status, category, message)
    else:
        log.log(logging.WARNING if status else logging.DEBUG, "FMU instance %r, not one of this process's "
                "federates, logs: %s", name, (message or b"").decode("utf-8", "replace"))


_FMI2_LOGGER = fmi2CallbackLoggerTYPE(_fmi2_log)  # module-level: it must outlive every instance


class _Slave:
    """Version-neutral access to one FMU instance: typed get/set and doStep with status checks."""

    def __init__(self, fmu: ExtractedFMU, instance: str, log_lines: list[str]) -> None:
        md = fmu.model
        self.name, self.warnings = instance, 0
        self.fmi3 = md.fmiVersion.startswith("3")
        self.lines = log_lines
        self._environment = 0  # FMI 2: the key of this instance in _fmi2_instances
        assert md.coSimulation is not None
        common: dict[str, Any] = dict(
            guid=md.guid,
            unzipDirectory=fmu.directory,
            modelIdentifier=md.coSimulation.modelIdentifier,
            instanceName=instance,
        )
        if self.fmi3:
            from fmpy.fmi3 import FMU3Slave

            self.slave: Any = FMU3Slave(**common)
            self.slave.instantiate(loggingOn=True, logMessage=self._log3)
            prefix = "fmi3"
        else:
            self.slave = FMU2Slave(**common)
            callbacks = self._callbacks = fmi2CallbackFunctions()  # the FMU may keep a pointer to it
            callbacks.logger = _FMI2_LOGGER
            callbacks.allocateMemory = defaultCallbacks.allocateMemory
            callbacks.freeMemory = defaultCallbacks.freeMemory
            callbacks.componentEnvironment = self._environment = next(_fmi2_environments)
            _fmi2_instances[self._environment] = self
            addLoggerProxy(ctypes.byref(callbacks))  # (re)installs _FMI2_LOGGER as the process-wide logger
            try:
                self.slave.instantiate(callbacks=callbacks, loggingOn=True)
            except BaseException:
                del _fmi2_instances[self._environment]  # no instance: nothing can log for it any more
                raise
            prefix = "fmi2"
        self.worst = 0
        f = self.slave._functions
        self.component = self.slave.component
        self._do_step: Callable[..., int] = f[f"{prefix}DoStep"]
        self._set_real = f["fmi3SetFloat64" if self.fmi3 else "fmi2SetReal"]
        self._get_real = f["fmi3GetFloat64" if self.fmi3 else "fmi2GetReal"]
        if self.fmi3:
            self._flags = [ctypes.c_bool() for _ in range(3)]
            self._last = ctypes.c_double()
            self._flag_refs = [ctypes.byref(x) for x in self._flags] + [ctypes.byref(self._last)]

    def real_array_call(self, getter: bool, vrs: Any, n: int, values: Any) -> Callable[[], int]:
        """fmi2Get/SetReal (fmi3Get/SetFloat64) on the first n entries of ctypes arrays, bound once.

        The hot path fills the arrays in place and calls the result: no argument tuples per step.
        """
        fn = self._get_real if getter else self._set_real
        extra = (n,) if self.fmi3 else ()  # FMI 3 also takes the number of values
        return functools.partial(fn, self.component, vrs, n, values, *extra)

    def native_stepper(self, in_vr: Any, in_val: Any, out_vr: Any | None, out_val: Any | None) -> native.Stepper | None:
        """Set the real inputs, doStep and get the real outputs (unless None) in one native call; None without the helper."""
        return native.stepper(self.component, self._set_real, self._do_step, self._get_real, self.fmi3,
                              in_vr, in_val, out_vr, out_val)

    def _log3(self, env: object, status: int, category: bytes, message: bytes) -> None:
        self.keep(status, category, message)

    def keep(self, status: int, category: bytes | None, message: bytes | None) -> None:
        text = fmu_archive.clip((message or b"").decode("utf-8", "replace"), 2000)  # an FMU's message, bounded
        self.lines.append(f"[{(category or b'').decode()}] {text}")
        del self.lines[:-50]  # keep the tail: the lines that explain a failure
        if status == 1 and self.warnings < _WARNINGS_SHOWN:  # fmiWarning: the run goes on, the user should know
            self.warnings += 1
            more = f" (further warnings of {self.name} are not shown)" if self.warnings == _WARNINGS_SHOWN else ""
            log.warning("FMU %s warns: %s%s", self.name, text, more)
        else:
            log.debug("%s", text)

    def _accessor(self, verb: str, kind: str) -> Callable[..., Any]:
        fmi_type = ("Float64" if self.fmi3 else "Real") if kind == "real" else kind
        table = _FMI3_ACCESSOR if self.fmi3 else _FMI2_ACCESSOR
        if fmi_type not in table:
            raise FMUError(f"variables of type {fmi_type} are not supported")
        return getattr(self.slave, verb + table[fmi_type])  # type: ignore[no-any-return]

    def set(self, kind: str, vrs: Sequence[int], values: Sequence[Any]) -> None:
        self._accessor("set", kind)(list(vrs), [_convert(kind, v) for v in values])

    def get(self, kind: str, vrs: Sequence[int]) -> list[Any]:
        return list(self._accessor("get", kind)(list(vrs)))

    def failed(self, status: int) -> None:
        """Remember the worst status: after Error only freeInstance is allowed, after Fatal nothing."""
        self.worst = max(self.worst, status)

    def initialize(self, start: float, stop: float) -> None:
        s = self.slave
        if self.fmi3:
            s.enterInitializationMode(startTime=start, stopTime=stop)
            s.exitInitializationMode()
        else:
            s.setupExperiment(startTime=start, stopTime=stop)
            s.enterInitializationMode()
            s.exitInitializationMode()

    def do_step(self, t: float, h: float) -> int:
        if self.fmi3:
            return self._do_step(self.component, t, h, True, *self._flag_refs)
        return self._do_step(self.component, t, h, 1)

    def step_flag(self) -> int:
        """After an FMI 3 doStep: native.ASKED_TERMINATE or RETURNED_EARLY when the FMU set that flag, else 0."""
        if self._flags[1].value:
            return native.ASKED_TERMINATE
        return native.RETURNED_EARLY if self._flags[2].value else 0

    def close(self) -> None:
        if self.worst >= 4:  # fmiFatal: the FMI standard forbids any further call
            log.warning("not freeing FMU instance %s after a fatal status", self.slave.instanceName)
            return
        if self.worst < 3:
            try:
                self.slave.terminate()
            except Exception as exc:  # its results stand; the user should still hear of it
                log.warning("FMU %s: %s", self.name, exc)
                self.failed(getattr(exc, "status", 3))
            if self.worst >= 4:
                return  # fatal: not even freeInstance
        self.slave.freeInstance()
        _fmi2_instances.pop(self._environment, None)  # after freeInstance, which may still log


class FMUFederate(SteppedFederate):
    """Maps exposed outputs to attributes of one object named after the federate, inputs to subscriptions."""

    def __init__(
        self,
        name: str,
        owner: str,
        path: Path,
        outputs: Sequence[str],
        clock: Clock,
        wiring: Wiring,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, owner, outputs, clock, wiring)
        self.fmu = extract_fmu(path)
        variables = self.fmu.variables
        self.log_lines: list[str] = []
        self._slave: _Slave | None = None
        self._parameters = dict(parameters or {})
        self._vars = variables
        self._out_groups = self._groups(self.outputs)
        inputs = sorted({n for targets in wiring.attributes.values() for n in targets}
                        | {n for targets in wiring.interactions.values() for n in targets})
        self._in_kind = {n: _kind(variables[n]) for n in inputs}
        self._inexact: set[str] = set()  # outputs already reported inexact as doubles
        self._int_types = {**_INT_CTYPES, "Enumeration": ctypes.c_int64 if self.fmu.model.fmiVersion.startswith("3")
                           else ctypes.c_int32}
        self._in_vr = {n: variables[n].valueReference for n in inputs}

    def _groups(self, names: Sequence[str]) -> list[tuple[str, list[int], list[int]]]:
        """Group variables by kind: (kind, value references, positions in `names`)."""
        groups: dict[str, tuple[list[int], list[int]]] = {}
        for i, n in enumerate(names):
            vrs, pos = groups.setdefault(_kind(self._vars[n]), ([], []))
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
        label = _STATUS_NAMES[status] if 0 <= status < len(_STATUS_NAMES) else "not an FMI status"
        return self._error(what, f"status {status} ({label})")

    def _error(self, what: str, detail: str) -> FMUError:
        tail = "\n  ".join(self.log_lines[-10:]) or "(the FMU logged nothing)"
        return FMUError(f"federate {self.name!r} ({self.fmu.path.name}): {what} failed: {detail}\n  FMU log:\n  {tail}")

    def initial_outputs(self) -> Sequence[float]:
        start, stop = to_seconds(self.clock.start), to_seconds(self.clock.stop)
        at = f"at t={start} s"  # errors during a run name the logical time, these included
        slave = self._slave = self._call(f"instantiate {at}", lambda: _Slave(self.fmu, self.name, self.log_lines))
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

    def _set_parameters(self, slave: _Slave, names: Sequence[str], at: str) -> None:
        for pname in names:
            var, value = self._vars[pname], self._parameters[pname]
            self._call(f"setting parameter {pname} = {value!r} {at}",
                       lambda: slave.set(_kind(var), [var.valueReference], [value]))

    def _prepare_hot_path(self, slave: _Slave) -> None:
        # Outputs that are all real are read with one preallocated call.
        self._get_outputs: Callable[[], int] | None = None
        out_vr = out_val = None
        if len(self._out_groups) == 1 and self._out_groups[0][0] == "real":
            vrs = self._out_groups[0][1]
            out_vr = (ctypes.c_uint32 * len(vrs))(*vrs)
            out_val = self._out_val = (ctypes.c_double * len(vrs))()
            self._get_outputs = slave.real_array_call(True, out_vr, len(vrs), out_val)
        # Changed real inputs are packed into preallocated arrays and set with one call per step;
        # calls bound for every count from 1 to all real inputs.
        self._real_in_vr = {n: self._in_vr[n] for n, kind in self._in_kind.items() if kind == "real"}
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
        real_vr, vr_arr, val_arr = self._real_in_vr, self._in_vr_arr, self._in_val_arr
        k = 0
        for name, value in self.changed.items():
            vr = real_vr.get(name)
            if vr is not None:
                vr_arr[k] = vr
                val_arr[k] = value
                k += 1
            else:
                self._set_input(name, value, t)
        t_seconds = t / TICKS_PER_SECOND  # to_seconds, without a call on the hot path
        h_seconds = self._h_seconds if h == self._step else to_seconds(h)
        stepper = self._native
        if stepper is not None:
            status = stepper(k, t_seconds, h_seconds)
            if status:
                raise self._native_error(status, t, h)
            return self._out_val[:] if self._native_reads else self._read_outputs(t + h)
        status = self._set_inputs[k]() if k else 0
        if status > 1:
            raise self._input_error(status, t)
        status = self._slave.do_step(t_seconds, h_seconds)  # type: ignore[union-attr]  # checked above
        if status > 1:
            raise self._status_error(status, f"doStep at t={t_seconds} s")
        if self._slave.fmi3 and (flag := self._slave.step_flag()):  # type: ignore[union-attr]
            raise self._flag_error(flag, t)
        return self._read_outputs(t + h)

    def _set_input(self, name: str, value: Any, t: LogicalTime) -> None:
        """An input of another type than real: set on its own."""
        slave = self._slave
        assert slave is not None
        kind, vr = self._in_kind[name], self._in_vr[name]
        if kind == "Float32":
            fits = not math.isfinite(value) or abs(value) <= _FLOAT32_MAX  # beyond it, it would become inf
        elif kind == "Boolean":
            fits = value in (0, 1)
        else:  # an interaction's parameter is a number: 0.7 or 3e9 into an Int32 would be cut silently
            c_type = self._int_types.get(kind)
            fits = float(value).is_integer() and (c_type is None or c_type(int(value)).value == value)
        what = f"setting input {name} = {value!r} at t={to_seconds(t)} s"  # as _input_error names real ones
        if not fits:
            raise self._error(what, f"not a valid {kind} value")
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
