"""The `python` kind: a class with `step(t, dt, inputs)`, imported from the scenario's folders."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path

from federation.coupling import Clock, Wiring
from federation.kinds import Model
from federation.kinds.interface import FederateInterface

from adapters.python.federate import PythonFederate
from adapters.python.loader import load_python_class, python_interface
from adapters.python.sources import python_sources


class PythonKind:
    """Python models: importing one runs its owner's code, so `validate --no-exec` leaves them unread."""

    name = "python"
    label = "Python model"
    reads_file = False
    runs_code = True
    sends_interactions = True

    def interface(self, model: Model) -> FederateInterface:
        return python_interface(model.source, model.search_paths)

    def probe(self, model: Model, interface: FederateInterface, load: bool) -> str | None:
        return None  # importing it (interface) was the whole check

    def parameter_problems(self, model: Model, interface: FederateInterface) -> list[tuple[str, str]]:
        """The class accepts the parameters as keywords, as the run will construct it: cls(**parameters)."""
        cls = load_python_class(model.source, model.search_paths)  # already imported: cached
        try:
            signature = inspect.signature(cls)
        except (TypeError, ValueError):
            return []  # no signature to check against without constructing it
        try:
            signature.bind(**model.parameters)
        except TypeError as exc:
            given = ", ".join(model.parameters) or "none"
            return [("parameters", f"{model.source} cannot be constructed with the parameters given ({given}): {exc}")]
        return []

    def sources(self, model: Model) -> dict[Path, str]:
        return python_sources(model.source, list(model.search_paths))

    def federate(self, model: Model, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> PythonFederate:
        cls = load_python_class(model.source, model.search_paths)
        return PythonFederate.construct(model.federate, model.site, cls, model.parameters, outputs, clock, wiring)


KIND = PythonKind()
