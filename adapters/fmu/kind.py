"""The `fmu` kind: what the federation asks of an FMU (interface, binary probe, parameter values, federate)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy

from federation.clip import short_repr
from federation.coupling import Clock, Wiring
from federation.kinds import Model, file_sha256
from federation.kinds.arrays import flat_values
from federation.kinds.interface import FederateInterface, VariableInfo

from adapters.fmu.exchange import ModelExchangeFederate, chosen_interface, option_problems
from adapters.fmu.federate import FMUFederate
from adapters.fmu.interface import fmu_interface
from adapters.fmu.probe import check_fmu_binary

_FLOAT32_MAX = float(numpy.finfo(numpy.float32).max)
_Scalar = float | int | bool | str  # a parameter's value, or one element of an array's list
_VALUE_CHECKS: dict[str, Callable[[_Scalar], bool]] = {
    "Real": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "String": lambda v: isinstance(v, str),
}


def _value_matches(var_type: str, value: _Scalar) -> bool:
    """Whether a parameter value fits a variable type exactly (no bool-as-number, no float-as-Integer)."""
    check = _VALUE_CHECKS.get(var_type)
    return check is None or check(value)


def _bound_text(bound: int | float | None, missing: str) -> str:
    text = missing if bound is None else repr(bound)  # in full: 1e+06 would hide the digits that matter
    return text.removesuffix(".0")


def _out_of_range(info: VariableInfo, value: _Scalar) -> str | None:
    """The range a numeric value falls outside (the FMI type's width, then the declared min/max), or None."""
    if isinstance(value, (bool, str)):
        return None
    if math.isnan(value):
        return "every range (it is not a number)"
    if math.isinf(value):  # `--set x=1e400`, or `.inf`: no model parameter means that
        return "every range (it is infinite)"
    if info.fmi_type == "Float32" and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
        return f"the range of Float32 (+/-{_FLOAT32_MAX:.8g}, beyond which it would become inf)"
    width = info.int_range
    if width is not None and not width[0] <= value <= width[1]:
        return f"the range of {info.fmi_type} [{width[0]}, {width[1]}]"
    if (info.min is not None and value < info.min) or (info.max is not None and value > info.max):
        return f"the declared range [{_bound_text(info.min, '-inf')}, {_bound_text(info.max, 'inf')}]"
    return None


class FMUKind:
    """FMI 2.0 and 3.0 FMUs, through fmpy: co-simulation, or Model Exchange integrated by a solver of fmpy's."""

    name = "fmu"
    label = "FMU"
    reads_file = True
    runs_code = False  # reading modelDescription.xml runs nothing; `probe(load=True)` loads the binary
    sends_interactions = False

    def interface(self, model: Model) -> FederateInterface:
        assert model.path is not None
        return fmu_interface(model.path)

    def probe(self, model: Model, interface: FederateInterface, load: bool) -> str | None:
        assert model.path is not None
        check_fmu_binary(model.path, interface, load=load,
                         model_exchange=chosen_interface(interface, model.options) == "model_exchange")
        return None if load else "its binary for this platform was not loaded (--no-exec): whether it loads is not checked"

    def parameter_problems(self, model: Model, interface: FederateInterface) -> list[tuple[str, str]]:
        problems = option_problems(interface, model.options)  # and those of the FMU keys (interface, solver)
        for parameter, value in model.parameters.items():
            info = interface.variables.get(parameter)
            if info is None:
                continue  # the scenario's rules say it is no parameter
            where = f"{model.federate}.{parameter}"
            for item in flat_values(value):  # an array's every element (its shape is the scenario's rules')
                if not _value_matches(info.type, item):
                    hint = "; quote it to make it text" if info.type == "String" else ""
                    problems.append((f"parameters.{parameter}",
                                     f"value {short_repr(item)} does not match the {info.type} type of {where}{hint}"))
                elif bad := _out_of_range(info, item):
                    problems.append((f"parameters.{parameter}", f"value {short_repr(item)} is outside {bad} of {where}"))
                else:
                    continue
                break  # one problem per parameter: a wrong list would repeat it for every element
        return problems

    def sources(self, model: Model) -> dict[Path, str]:
        assert model.path is not None
        return {model.path: file_sha256(model.path)}

    def federate(self, model: Model, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> FMUFederate:
        assert model.path is not None
        if chosen_interface(self.interface(model), model.options) == "model_exchange":
            solver, tolerance = model.options.get("solver", "CVode"), model.options.get("tolerance")
            return ModelExchangeFederate(model.federate, model.site, model.path, outputs, clock, wiring,
                                         model.parameters, solver=str(solver),
                                         tolerance=tolerance if isinstance(tolerance, float) else None)
        return FMUFederate(model.federate, model.site, model.path, outputs, clock, wiring, model.parameters)


KIND = FMUKind()
