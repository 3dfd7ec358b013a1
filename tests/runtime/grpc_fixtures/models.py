"""Python-model federates for the grpc-mode fault tests (copied next to the scenario in a test's tmp dir)."""

from __future__ import annotations

import os
import time
from typing import Mapping


class Source:
    """y counts the steps: y(t + dt) = t + dt."""

    inputs: dict[str, str] = {}
    outputs = {"y": "1"}

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict[str, float]:
        return {"y": t + dt}


class Pair(Source):
    """y as Source's, and z = -y: an output the chain does not pass on (tests/runtime/test_direct_failures.py)."""

    outputs = {"y": "1", "z": "1"}

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict[str, float]:
        return {"y": t + dt, "z": -(t + dt)}


class Relay:
    """y = u + 1; once t >= stall_at it hangs inside step, once t >= fail_at it raises (either writing the wall
    time it did so to `marker`). Each step takes at least `pace` s of wall time."""

    inputs = {"u": "1"}
    outputs = {"y": "1"}

    def __init__(self, stall_at: float = float("inf"), marker: str = "", fail_at: float = float("inf"),
                 pace: float = 0.0) -> None:
        self.stall_at = stall_at
        self.marker = marker
        self.fail_at = fail_at
        self.pace = pace

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict[str, float]:
        if self.pace:
            time.sleep(self.pace)
        if t >= self.fail_at:
            self._mark()
            raise ArithmeticError(f"cannot go on past {t:g} s")
        if t >= self.stall_at:
            self._mark()
            time.sleep(3600)  # stuck inside the step: the host stays connected and keeps heart-beating
        return {"y": inputs["u"] + 1.0}

    def _mark(self) -> None:
        if self.marker:
            tmp = f"{self.marker}.{os.getpid()}"
            with open(tmp, "w") as fh:
                fh.write(repr(time.time()))
            os.replace(tmp, self.marker)
