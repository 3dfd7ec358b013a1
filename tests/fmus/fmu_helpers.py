"""Helpers to drive the twin FMUs step by step through fmpy's low-level FMU2Slave / FMU3Slave classes."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from fmpy import extract, read_model_description
from fmpy.fmi2 import FMU2Slave, fmi2CallbackFunctions, fmi2CallbackLoggerTYPE, fmi2CallbackAllocateMemoryTYPE, \
    fmi2CallbackFreeMemoryTYPE
from fmpy.fmi3 import FMU3Slave
from fmpy.fmi1 import calloc, free, FMICallException

InputFn = Callable[[float], dict[str, float]]


@dataclass
class Twin:
    """One instantiated twin FMU with a message log."""

    path: Path
    fmi_version: int
    messages: list[tuple[int, str]] = field(default_factory=list)
    start_time: float = 0.0

    def __post_init__(self) -> None:
        self.unzipdir = extract(str(self.path))
        self.md = read_model_description(self.unzipdir)
        self.vars = {v.name: v for v in self.md.modelVariables}
        cls = FMU2Slave if self.fmi_version == 2 else FMU3Slave
        self.fmu: Any = cls(guid=self.md.guid, unzipDirectory=self.unzipdir,
                            modelIdentifier=self.md.coSimulation.modelIdentifier, instanceName="test")
        if self.fmi_version == 2:
            def log2(env: Any, name: Any, status: int, category: Any, message: bytes) -> None:
                self.messages.append((status, message.decode()))
            cb = fmi2CallbackFunctions()
            cb.logger = fmi2CallbackLoggerTYPE(log2)
            cb.allocateMemory = fmi2CallbackAllocateMemoryTYPE(calloc)
            cb.freeMemory = fmi2CallbackFreeMemoryTYPE(free)
            self._cb = cb
            self.fmu.instantiate(callbacks=cb)
        else:
            def log3(env: Any, status: int, category: Any, message: bytes) -> None:
                self.messages.append((status, message.decode()))
            self.fmu.instantiate(logMessage=log3)

    def set(self, **values: float) -> None:
        for name, value in values.items():
            v = self.vars[name]
            if v.type == "Integer" or v.type == "Int32":
                if self.fmi_version == 2:
                    self.fmu.setInteger([v.valueReference], [int(value)])
                else:
                    self.fmu.setInt32([v.valueReference], [int(value)])
            else:
                if self.fmi_version == 2:
                    self.fmu.setReal([v.valueReference], [float(value)])
                else:
                    self.fmu.setFloat64([v.valueReference], [float(value)])

    def get(self, *names: str) -> list[float]:
        vrs = [self.vars[n].valueReference for n in names]
        return list(self.fmu.getReal(vrs) if self.fmi_version == 2 else self.fmu.getFloat64(vrs))

    def initialize(self, start_time: float = 0.0, **params: float) -> None:
        self.start_time = start_time
        if self.fmi_version == 2:
            self.fmu.setupExperiment(startTime=start_time)
            self.set(**params)
            self.fmu.enterInitializationMode()
            self.fmu.exitInitializationMode()
        else:
            self.set(**params)
            self.fmu.enterInitializationMode(startTime=start_time)
            self.fmu.exitInitializationMode()

    def do_step(self, t: float, h: float) -> None:
        self.fmu.doStep(currentCommunicationPoint=t, communicationStepSize=h)

    def run(self, stop: float, step: float, outputs: list[str], inputs: InputFn | None = None,
            sample_every: int = 1) -> dict[str, np.ndarray]:
        """Step from start_time to stop; sample outputs every sample_every steps (and at the start)."""
        n = int(round((stop - self.start_time) / step))
        times = [self.start_time]
        rows = [self.get(*outputs)]
        for k in range(n):
            t = self.start_time + k * step
            if inputs is not None:
                self.set(**inputs(t))
            self.do_step(t, step)
            if (k + 1) % sample_every == 0 or k == n - 1:
                times.append(t + step)
                rows.append(self.get(*outputs))
        data = np.array(rows)
        result = {"time": np.array(times)}
        for i, name in enumerate(outputs):
            result[name] = data[:, i]
        return result

    def close(self) -> None:
        try:
            self.fmu.terminate()
        except FMICallException:
            pass
        self.fmu.freeInstance()
        shutil.rmtree(self.unzipdir, ignore_errors=True)


def error_messages(twin: Twin) -> list[str]:
    """Messages logged with status error (3) or fatal (4)."""
    return [m for s, m in twin.messages if s >= 3]


__all__ = ["Twin", "error_messages", "FMICallException", "tempfile"]
