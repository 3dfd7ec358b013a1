"""Python-model federate: any class with `step(t, dt, inputs) -> outputs` joins the federation.

The class declares `inputs` and `outputs` (names, or name -> unit mappings). `step`
returns a mapping of outputs, or a `StepResult` that also carries interactions to send
(stamped t + dt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from federation.ambassador import LogicalTime, to_seconds

from .stepped import Clock, SteppedFederate, Wiring


@dataclass
class StepResult:
    outputs: Mapping[str, float]
    interactions: list[tuple[str, dict[str, float]]] = field(default_factory=list)


class ModelError(RuntimeError):
    """A Python model returned something that is not its declared outputs."""


class PythonFederate(SteppedFederate):
    def __init__(
        self, name: str, owner: str, model: Any, outputs: Sequence[str], clock: Clock, wiring: Wiring
    ) -> None:
        super().__init__(name, owner, outputs, clock, wiring)
        self.model = model
        declared = getattr(model, "inputs", ()) or ()
        for n in declared:
            self.inputs.setdefault(n, 0.0)

    def initial_outputs(self) -> Sequence[float]:
        init = getattr(self.model, "initial_outputs", None)
        values = init() if callable(init) else {}
        return self._ordered(values, "initial_outputs")

    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        result = self.model.step(to_seconds(t), to_seconds(h), dict(self.inputs))
        if isinstance(result, StepResult):
            self.outbox.extend(result.interactions)
            result = result.outputs
        return self._ordered(result, "step")

    def _ordered(self, values: Mapping[str, float], where: str) -> list[float]:
        if not isinstance(values, Mapping):
            raise ModelError(f"federate {self.name!r}: {where} returned {type(values).__name__}, not a mapping")
        try:
            return [float(values.get(n, 0.0)) for n in self.outputs]
        except (TypeError, ValueError) as exc:
            raise ModelError(f"federate {self.name!r}: {where} returned a non-numeric output: {exc}") from None
