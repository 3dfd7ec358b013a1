"""The RTI: a set of isolated federation executions, created and destroyed by name."""

from __future__ import annotations

from . import errors as E
from .execution import FederationExecution
from .fom import FOM
from .time import LogicalTime


class RTI:
    def __init__(self) -> None:
        self._executions: dict[str, FederationExecution] = {}

    def create_federation_execution(self, name: str, fom: FOM, start_time: LogicalTime = 0,
                                    defer_grants: bool = False) -> FederationExecution:
        if not name:
            raise E.RTIError("federation name must not be empty")
        if name in self._executions:
            raise E.FederationExecutionAlreadyExists(f"federation execution {name!r} already exists")
        execution = FederationExecution(name, fom, start_time, defer_grants)
        self._executions[name] = execution
        return execution

    def destroy_federation_execution(self, name: str, force: bool = False) -> None:
        """Remove an execution; `force` discards members still joined (a failed federation's)."""
        execution = self.execution(name)
        if not force and not execution.empty:
            joined = sorted(f.name for f in execution.federates)
            raise E.FederatesCurrentlyJoined(f"federation {name!r} still has joined federates {joined}")
        del self._executions[name]

    def execution(self, name: str) -> FederationExecution:
        try:
            return self._executions[name]
        except KeyError:
            raise E.FederationExecutionDoesNotExist(f"federation execution {name!r} does not exist") from None

    def list_federation_executions(self) -> list[str]:
        return sorted(self._executions)
