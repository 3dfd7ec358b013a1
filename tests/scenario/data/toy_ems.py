"""Toy energy-management Python federate used by the scenario tests (interface only)."""

from __future__ import annotations


class Dispatcher:
    """Curtails the furnace when the grid frequency drops."""

    inputs = {"f": "Hz"}
    outputs = {"alarm": "1", "P_limit": "W"}
    parameters = {"threshold": "W"}

    def __init__(self, threshold: float = 3.0e6) -> None:
        self.threshold = threshold


class Incomplete:
    """Declares no outputs: not a valid federate class."""

    inputs = ["f"]
