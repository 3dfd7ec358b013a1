"""A Python-model federate used by the runtime tests: sends one DemandResponse."""

from __future__ import annotations

from typing import Mapping

from adapters.python import StepResult


class Toggler:
    inputs: dict[str, str] = {}
    outputs = {"sent": "1"}

    def __init__(self, at: float = 300.0) -> None:
        self.at = at
        self.sent = 0.0

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> StepResult:
        if t + dt == self.at:
            self.sent = 1.0
            return StepResult({"sent": 1.0}, [("DemandResponse", {"curtail": 0.9})])
        return StepResult({"sent": self.sent})
