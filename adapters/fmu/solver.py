"""fmpy's CVode solver for the Model Exchange federate, its callbacks reporting a failed FMU call to CVode.

Imported only when a Model Exchange federate uses CVode (it loads SUNDIALS).
"""

from __future__ import annotations

from ctypes import byref
from typing import Any

from fmpy.sundials import CV_NORMAL, CVode, CVodeSolver, realtype
from fmpy.sundials.nvector_serial import NV_DATA_S


class Solver(CVodeSolver):  # type: ignore[misc]  # fmpy is untyped
    """fmpy's CVodeSolver, whose callbacks (the same FMU calls as its own, in the same order) report an exception
    (an FMU call that failed) to CVode as a failure instead of letting ctypes print and drop it: CVode would go on
    with whatever the FMU left."""

    failure: BaseException | None = None

    def step(self, t: float, t_next: float) -> tuple[bool, None, float]:
        """CVodeSolver.step (the same calls), without the root array nobody here reads."""
        if not self.discrete:
            self.get_x(self.px, self.nx)
        returned = realtype(0.0)
        flag = CVode(self.cvode_mem, t_next, self.x, byref(returned), CV_NORMAL)
        if not self.discrete:
            self.set_x(self.px, self.nx)
        if flag < 0:
            code, function, _, message = self.error_info or (flag, "CVode", "", "no message")
            raise RuntimeError(f"CVode error (code {code}) in {function}: {message}")
        return flag > 0, None, returned.value

    def f(self, t: float, y: Any, ydot: Any, user_data: Any) -> int:
        if self.discrete:
            return int(super().f(t, y, ydot, user_data))
        try:
            self.set_time(t)
            self.set_x(NV_DATA_S(y), self.nx)
            self.get_dx(NV_DATA_S(ydot), self.nx)
        except Exception as exc:
            self.failure = exc
            return -1  # unrecoverable: CVode returns an error
        return 0

    def g(self, t: float, y: Any, gout: Any, user_data: Any) -> int:
        try:
            self.set_time(t)
            if not self.discrete:  # (input.apply(t) here in fmpy's: nothing, the inputs are held)
                self.set_x(NV_DATA_S(y), self.nx)
            self.get_z(gout, self.nz)
        except Exception as exc:
            self.failure = exc
            return -1
        return 0
