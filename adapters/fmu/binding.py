"""The FMI binding: version-neutral typed access to one FMU instance through fmpy, its log and status checks."""

from __future__ import annotations

import ctypes
import functools
import itertools
import logging
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy
from fmpy.fmi2 import FMU2Model, FMU2Slave, defaultCallbacks, fmi2CallbackFunctions, fmi2CallbackLoggerTYPE
from fmpy.logging import addLoggerProxy
from fmpy.model_description import ScalarVariable

from federation.errors import ModelError

from adapters import native
from adapters.fmu import archive as fmu_archive

if TYPE_CHECKING:
    from adapters.fmu.cache import ExtractedFMU

log = logging.getLogger(__name__)

_INT_TYPES = ("Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64")
# fmpy accessor suffix per FMI type: FMI 3 has one per width, FMI 2 one per family.
_FMI3_ACCESSOR = {**{t: t for t in ("Float32", "Float64", "Boolean", "String", *_INT_TYPES)}, "Enumeration": "Int64"}
# What ctypes wraps an integer input's value into, silently modulo its width (FMI 2's Integer is 32-bit).
INT_CTYPES: dict[str, Any] = {**{t: getattr(ctypes, f"c_{t.lower()}") for t in _INT_TYPES}, "Integer": ctypes.c_int32}
_FMI2_ACCESSOR = {"Real": "Real", "Integer": "Integer", "Enumeration": "Integer", "Boolean": "Boolean", "String": "String"}


class FMUError(ModelError, RuntimeError):
    """An FMU call failed; the message carries the FMU's own log lines."""


FLOAT32_MAX = float(numpy.finfo(numpy.float32).max)
_WARNINGS_SHOWN = 10  # per FMU instance: a model warning at every step would drown everything else
STATUS_NAMES = ("ok", "warning", "discard", "error", "fatal", "pending")  # fmi2Status / fmi3Status


def value_kind(var: ScalarVariable) -> str:
    """'real' for 64-bit floats (the hot path), else the FMI type name itself."""
    return "real" if var.type in ("Real", "Float64") else str(var.type)


def convert(kind: str, value: Any) -> Any:
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
_fmi2_instances: dict[int, "Slave"] = {}  # componentEnvironment -> live instance
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


class Slave:
    """Version-neutral access to one FMU instance: typed get/set and doStep with status checks.

    With `model_exchange`, the instance is of the FMU's Model Exchange interface (fmpy's FMU2Model or
    FMU3Model, in `slave`): there is no doStep, its master integrates it (adapters.fmu.exchange)."""

    def __init__(self, fmu: ExtractedFMU, instance: str, log_lines: list[str], model_exchange: bool = False) -> None:
        md = fmu.model
        self.name, self.warnings = instance, 0
        self.fmi3 = md.fmiVersion.startswith("3")
        self.lines = log_lines
        self._environment = 0  # FMI 2: the key of this instance in _fmi2_instances
        interface = md.modelExchange if model_exchange else md.coSimulation
        assert interface is not None
        common: dict[str, Any] = dict(
            guid=md.guid,
            unzipDirectory=fmu.directory,
            modelIdentifier=interface.modelIdentifier,
            instanceName=instance,
        )
        if self.fmi3:
            from fmpy.fmi3 import FMU3Model, FMU3Slave

            self.slave: Any = (FMU3Model if model_exchange else FMU3Slave)(**common)
            self.slave.instantiate(loggingOn=True, logMessage=self._log3)
            prefix = "fmi3"
        else:
            self.slave = (FMU2Model if model_exchange else FMU2Slave)(**common)
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
        self._do_step: Callable[..., int] | None = f.get(f"{prefix}DoStep")  # None: Model Exchange
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

    def array_getter(self, kind: str, vrs: Sequence[int]) -> tuple[Callable[[], int], Any] | None:
        """(call, values): fmi2Get<T> (fmi3Get<T>) of the scalars `vrs` into the ctypes array `values`, bound once,
        for a numeric kind (`value_kind`); None for others (String)."""
        fmi_type = ("Float64" if self.fmi3 else "Real") if kind == "real" else kind
        accessor = (_FMI3_ACCESSOR if self.fmi3 else _FMI2_ACCESSOR).get(fmi_type)
        c_types = {"Real": ctypes.c_double, "Float64": ctypes.c_double, "Float32": ctypes.c_float,
                   "Boolean": ctypes.c_bool if self.fmi3 else ctypes.c_int32, **INT_CTYPES}
        if accessor not in c_types:
            return None
        n = len(vrs)
        values = (c_types[accessor] * n)()
        fn = self.slave._functions[f"{'fmi3' if self.fmi3 else 'fmi2'}Get{accessor}"]
        extra = (n,) if self.fmi3 else ()  # FMI 3 also takes the number of values
        return functools.partial(fn, self.component, (ctypes.c_uint32 * n)(*vrs), n, values, *extra), values

    def native_stepper(self, in_vr: Any, in_val: Any, out_vr: Any | None, out_val: Any | None) -> native.Stepper | None:
        """Set the real inputs, doStep and get the real outputs (unless None) in one native call; None without the
        helper (or without doStep: Model Exchange)."""
        if self._do_step is None:
            return None
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
        self._accessor("set", kind)(list(vrs), [convert(kind, v) for v in values])

    def get(self, kind: str, vrs: Sequence[int], n_values: int | None = None) -> list[Any]:
        """The variables' values; `n_values` when an FMI 3 array counts more than one each."""
        getter = self._accessor("get", kind)
        return list(getter(list(vrs)) if n_values is None else getter(list(vrs), nValues=n_values))

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
        assert self._do_step is not None, "Model Exchange instances do not step themselves"
        if self.fmi3:
            return self._do_step(self.component, t, h, True, *self._flag_refs)
        return self._do_step(self.component, t, h, 1)

    def early_return(self) -> tuple[bool, float]:
        """After an FMI 3 doStep: its earlyReturn flag and lastSuccessfulTime."""
        return bool(self._flags[2].value), float(self._last.value)

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
