"""The operator's energy-management dispatcher: a Python-model federate.

It watches grid frequency and the furnace and fleet demand, and at the evening
peak (or on a frequency excursion) sends a timestamped DemandResponse interaction
asking the furnace to curtail.
"""

from __future__ import annotations

from typing import Mapping

from adapters.python import StepResult


class Dispatcher:
    inputs = {"f": "Hz", "P_furnace": "W", "P_ev": "W"}
    outputs = {"curtail": "1", "P_flex": "W"}

    def __init__(
        self,
        peak_start: float = 17.5 * 3600,
        peak_end: float = 20.0 * 3600,
        level: float = 0.5,
        f_alarm: float = 49.85,
    ) -> None:
        self.peak = (peak_start, peak_end)
        self.level = level
        self.f_alarm = f_alarm
        self.command = 0.0

    def initial_outputs(self) -> Mapping[str, float]:
        return {"curtail": self.command, "P_flex": 0.0}

    def step(self, t: float, dt: float, inputs: Mapping[str, float]) -> StepResult:
        day = (t + dt) % 86400.0
        in_peak = self.peak[0] <= day < self.peak[1]
        wanted = self.level if in_peak or inputs["f"] < self.f_alarm else 0.0
        interactions = []
        if wanted != self.command:
            self.command = wanted
            interactions.append(("DemandResponse", {"curtail": wanted}))
        flexible = inputs["P_furnace"] + inputs["P_ev"]
        return StepResult({"curtail": self.command, "P_flex": flexible}, interactions)
