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


class Relay:
    """y = u + 1; once t >= stall_at it hangs inside step (writing the wall time it did so to `marker`)."""

    inputs = {"u": "1"}
    outputs = {"y": "1"}

    def __init__(self, stall_at: float = float("inf"), marker: str = "") -> None:
        self.stall_at = stall_at
        self.marker = marker

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> dict[str, float]:
        if t >= self.stall_at:
            if self.marker:
                tmp = f"{self.marker}.{os.getpid()}"
                with open(tmp, "w") as fh:
                    fh.write(repr(time.time()))
                os.replace(tmp, self.marker)
            time.sleep(3600)  # stuck inside the step: the host stays connected and keeps heart-beating
        return {"y": inputs["u"] + 1.0}
