"""Toy energy-management Python federate used by the scenario tests (interface only)."""

from __future__ import annotations


class Dispatcher:
    """Curtails the furnace when the grid frequency drops."""

    inputs = {"f": "Hz"}
    outputs = {"alarm": "1", "P_limit": "W"}
    parameters = {"threshold": "W"}

    def __init__(self, threshold: float = 3.0e6) -> None:
        self.threshold = threshold

    def step(self, t: float, dt: float, inputs: dict[str, float]) -> dict[str, float]:
        return {"alarm": float(inputs["f"] < 49.8), "P_limit": self.threshold}


class Incomplete:
    """Declares no outputs: not a valid federate class."""

    inputs = ["f"]


class NoStep:
    """Declares its variables but has no step method."""

    inputs = ["f"]
    outputs = ["alarm"]


class StepNotCallable(NoStep):
    step = 3.0


class BadStepSignature(NoStep):
    def step(self, inputs: dict[str, float]) -> dict[str, float]:
        return {"alarm": 0.0}


class StaticStep(NoStep):
    @staticmethod
    def step(t: float, dt: float, inputs: dict[str, float]) -> dict[str, float]:
        return {"alarm": 0.0}


class NeedsGain(NoStep):
    def __init__(self, gain: float) -> None:
        self.gain = gain

    def step(self, t: float, dt: float, inputs: dict[str, float]) -> dict[str, float]:
        return {"alarm": self.gain}


class DeclaresUnaccepted(StaticStep):
    """Declares a parameter its constructor does not take."""

    parameters = ["alpha"]
