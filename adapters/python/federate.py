"""Python-model federate: any class with `step(t, dt, inputs) -> outputs` joins the federation.

The class declares `inputs` and `outputs` (names, or name -> unit mappings). `step`
returns a mapping of outputs, or a `StepResult` that also carries interactions to send
(stamped t + dt) and may ask to end the simulation at t + dt (`end=True`, see on_terminate).
"""

from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from federation.ambassador import LogicalTime, to_seconds
from federation.errors import ModelError

from federation.coupling import Clock, Wiring
from adapters.stepped import SteppedFederate


@dataclass
class StepResult:
    outputs: Mapping[str, float]
    interactions: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    end: bool = False  # the model asks to end the simulation where this step ends


class PythonModelError(ModelError, RuntimeError):
    """A Python model failed or returned something that is not its declared outputs."""


class PythonFederate(SteppedFederate):
    may_end = True  # StepResult(end=True)

    def __init__(
        self, name: str, site: str, model: Any, outputs: Sequence[str], clock: Clock, wiring: Wiring
    ) -> None:
        super().__init__(name, site, outputs, clock, wiring)
        self.model = model
        declared = getattr(model, "inputs", ()) or ()
        for n in declared:
            self.inputs.setdefault(n, 0.0)
        # Every declared output may be returned; the exposed ones (self.outputs) must be.
        self._declared_outputs = frozenset(getattr(model, "outputs", ()) or ()) | frozenset(self.outputs)

    @classmethod
    def construct(cls, name: str, site: str, model_class: Any, parameters: Mapping[str, Any], outputs: Sequence[str],
                  clock: Clock, wiring: Wiring) -> PythonFederate:
        """The federate of `model_class(**parameters)`; a constructor that raises is named like a failed step."""
        try:
            model = model_class(**parameters)
        except Exception as exc:
            raise PythonModelError(f"federate {name!r}: constructing {model_class.__name__} at t={to_seconds(clock.start)} s "
                             f"raised {type(exc).__name__}: {exc}{_origin(exc, model_class)}") from exc
        return cls(name, site, model, outputs, clock, wiring)

    def initial_outputs(self) -> Sequence[float]:
        init = getattr(self.model, "initial_outputs", None)
        if not callable(init):
            return [0.0] * len(self.outputs)
        try:
            values = init()
        except Exception as exc:
            raise self._failed("initial_outputs", self.clock.start, exc) from exc
        return self._ordered(values, "initial_outputs", self.clock.start)

    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        try:
            result = self.model.step(to_seconds(t), to_seconds(h), dict(self.inputs))
        except Exception as exc:
            raise self._failed("step", t, exc) from exc
        if isinstance(result, StepResult):
            self.outbox.extend(result.interactions)
            if result.end:
                self.ending = (t + h, 4)  # END_REASONS: the Python model asked
            result = result.outputs
        return self._ordered(result, "step", t)

    def _failed(self, where: str, t: LogicalTime, exc: Exception) -> PythonModelError:
        """The model's own exception, saying whose, when and where; raised `from` it to keep the model's traceback.

        The place is in the message itself: in grpc and ray modes the message is all that travels.
        """
        return PythonModelError(f"federate {self.name!r}: {where} at t={to_seconds(t)} s raised {type(exc).__name__}: "
                          f"{exc}{_origin(exc, type(self.model))}")

    def _ordered(self, values: Mapping[str, float], where: str, t: LogicalTime) -> list[float]:
        def context() -> str:  # built only for an error: this runs on every step
            return f"federate {self.name!r}: {where} at t={to_seconds(t)} s"

        if not isinstance(values, Mapping):
            raise PythonModelError(f"{context()} returned {type(values).__name__}, not a mapping")
        if not self._declared_outputs.issuperset(values):
            unknown = ", ".join(repr(n) for n in values if n not in self._declared_outputs)
            raise PythonModelError(f"{context()} returned unknown output {unknown} "
                             f"(declared: {', '.join(sorted(self._declared_outputs))})")
        try:
            return [float(values[n]) for n in self.outputs]
        except KeyError as exc:
            raise PythonModelError(f"{context()} returned no value for output {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise PythonModelError(f"{context()} returned a non-numeric output: {exc}") from None


def _origin(exc: Exception, model_class: type) -> str:
    """' (at FILE:LINE in FUNCTION)' of the innermost frame, and of the model's own file if that is not it."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # the first is this adapter's call into the model
    if not frames:
        return ""
    inner = frames[-1]
    text = f"{inner.filename}:{inner.lineno} in {inner.name}"
    try:
        own = inspect.getsourcefile(model_class)
    except TypeError:  # a class without a source file (built-in, or made by exec)
        own = None
    mine = [frame for frame in frames if frame.filename == own]
    if mine and mine[-1] is not inner:  # raised in a library the model called: where the model called it
        text += f", called from {mine[-1].filename}:{mine[-1].lineno} in {mine[-1].name}"
    return f" (at {text})"
