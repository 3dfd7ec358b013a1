"""What a federate exposes, as every kind reports it: variables with causality, type and unit, and unit definitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from federation.clip import clip
from federation.errors import CarriesFields, ConfigurationError

__all__ = ["BASE_UNITS", "REMOTE", "FederateInterface", "InterfaceError", "StartValue", "UnitDefinition",
           "VariableInfo", "declared_interface"]

StartValue = float | int | bool | str | None
# (base-unit exponents in BASE_UNITS order, factor, offset): value_in_SI = factor * value + offset.
# Conversions between units are federation.kinds.units'.
UnitDefinition = tuple[tuple[int, ...], float, float]
BASE_UNITS: tuple[str, ...] = ("kg", "m", "s", "A", "K", "mol", "cd", "rad")

_PARAMETER_CAUSALITIES = frozenset({"parameter", "structuralParameter"})


class InterfaceError(CarriesFields, ConfigurationError):
    """A federate's interface could not be read (missing file, corrupt FMU, import failure, bad CSV...)."""

    def __init__(self, message: object = "") -> None:
        super().__init__(clip(str(message)))  # it may quote a name or a path from a hostile file


@dataclass(frozen=True)
class VariableInfo:
    """One variable of a federate, as declared (FMI causality vocabulary)."""

    name: str
    causality: str
    type: str
    unit: str | None
    variability: str | None
    start: StartValue
    description: str = ""
    fmi_type: str | None = None  # the declared FMI type (Int32, UInt8, Float64, Enumeration...), FMUs only
    min: int | float | None = None  # declared bounds (FMU variables only)
    max: int | float | None = None
    int_range: tuple[int, int] | None = None  # what an integer variable's FMI type can hold
    array: bool = False  # an FMI 3 variable with <Dimension>s
    array_start: tuple[StartValue, ...] = ()  # an array's start values, every element (row-major), as declared
    # an array's dimensions: a size, or the name of the structural parameter that gives it (federation.kinds.arrays)
    dimensions: tuple[int | str, ...] = ()
    element_of: str | None = None  # an array's element (`y[2]`): the array's name
    relative_quantity: bool = False  # FMI relativeQuantity (a difference): unit offsets do not apply to it


@dataclass(frozen=True)
class FederateInterface:
    """Everything a federate exposes: its variables (in declaration order) and unit definitions."""

    kind: str
    variables: Mapping[str, VariableInfo]
    fmi_version: str | None = None
    model_name: str | None = None
    model_identifier: str | None = None  # an FMU's co-simulation binary is binaries/<platform>/<this><ext>
    # An FMU's interfaces, each with its modelIdentifier: {"co_simulation": ..., "model_exchange": ...}, as offered
    # (model_identifier is the co-simulation one, else the Model Exchange one)
    model_identifiers: Mapping[str, str] = field(default_factory=dict)
    unit_definitions: Mapping[str, UnitDefinition] = field(default_factory=dict)
    default_experiment: Mapping[str, float] = field(default_factory=dict)  # an FMU's, the attributes it gives

    def _names(self, causalities: Iterable[str]) -> list[str]:
        wanted = frozenset(causalities)
        return [name for name, var in self.variables.items() if var.causality in wanted]

    def inputs(self) -> list[str]:
        """Input variable names in declaration order."""
        return self._names(("input",))

    def outputs(self) -> list[str]:
        """Output variable names in declaration order."""
        return self._names(("output",))

    def parameters(self) -> list[str]:
        """Settable parameter names (parameter, structuralParameter) in declaration order."""
        return self._names(_PARAMETER_CAUSALITIES)


REMOTE = "remote"


def declared_interface(outputs: Sequence[str], inputs: Sequence[str],
                       units_from: FederateInterface | None = None) -> FederateInterface:
    """Another site's federate as the scenario declares it, when its model is not on this machine.

    Its site validates types, units and parameters on its own host; here only names are known, and units when
    `units_from`, its model's data (an FMU's modelDescription, a replay CSV), is here to read them from: a
    connection from or to it is then converted as where its model is read (federation.kinds.units).
    """
    def declared(name: str, causality: str) -> VariableInfo:
        known = units_from.variables.get(name) if units_from is not None else None
        if known is None:
            return VariableInfo(name, causality, "Real", None, None, None)
        return VariableInfo(name, causality, "Real", known.unit, None, None, relative_quantity=known.relative_quantity)

    variables = {n: declared(n, "output") for n in outputs}
    variables.update({n: declared(n, "input") for n in inputs if n not in variables})
    return FederateInterface(kind=REMOTE, variables=variables,
                             unit_definitions=units_from.unit_definitions if units_from is not None else {})
