"""The Python-model federate kind: any class with `step(t, dt, inputs) -> outputs` joins the federation.

Models import `StepResult` from here to send interactions along with their outputs.
"""

from adapters.python.federate import PythonFederate, PythonModelError, StepResult
from adapters.python.kind import KIND

__all__ = ["KIND", "PythonFederate", "PythonModelError", "StepResult"]
