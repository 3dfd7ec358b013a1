"""Optional native hot path of the FMU adapter: one C call per federate-step instead of three ctypes calls.

`make` builds the helper from fmi_step.c (`python -m adapters.native`). Without it, or with a
stale build, the FMU adapter keeps its ctypes path and logs why once; results are identical.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

ABI = 3  # FED_STEP_ABI in fmi_step.c
SOURCE = Path(__file__).with_name("fmi_step.c")
LIBRARY = Path(__file__).with_name("build") / ("fmi_step.dll" if sys.platform == "win32" else "fmi_step.so")
# Or'ed above the FMI status by fed_step: which of the three calls failed.
FAILED_SET, FAILED_STEP, FAILED_GET = 0x100, 0x200, 0x300
ASKED_TERMINATE, RETURNED_EARLY = 0x400, 0x500  # FMI 3 doStep flags that end a step

Stepper = Callable[[int, float, float], int]  # (changed inputs, t, h) -> 0 or status | phase


class StepContext(ctypes.Structure):
    """Mirror of step_context in fmi_step.c."""

    _fields_ = [
        ("instance", ctypes.c_void_p),
        ("set_real", ctypes.c_void_p),
        ("do_step", ctypes.c_void_p),
        ("get_real", ctypes.c_void_p),
        ("fmi3", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("in_vr", ctypes.c_void_p),
        ("in_val", ctypes.c_void_p),
        ("out_vr", ctypes.c_void_p),
        ("out_val", ctypes.c_void_p),
        ("n_out", ctypes.c_size_t),
        ("last_time", ctypes.c_double),
        ("early_return", ctypes.c_int32),
        ("reserved2", ctypes.c_int32),
    ]


@functools.cache
def _fed_step() -> Any | None:
    if os.environ.get("FEDERATION_NATIVE", "1") == "0":
        log.info("native FMU stepping disabled by FEDERATION_NATIVE=0")
        return None
    try:
        lib = ctypes.CDLL(str(LIBRARY))
        abi = lib.fed_step_abi()
    except (OSError, AttributeError) as exc:
        log.info("native FMU stepping unavailable (%s); build it with `python -m adapters.native`", exc)
        return None
    if abi != ABI:
        log.warning("native FMU stepping disabled: %s is ABI %s, this code needs %s; rebuild it", LIBRARY, abi, ABI)
        return None
    fn = lib.fed_step
    fn.argtypes = [ctypes.POINTER(StepContext), ctypes.c_size_t, ctypes.c_double, ctypes.c_double]
    fn.restype = ctypes.c_int
    return fn


def available() -> bool:
    return _fed_step() is not None


def _address(obj: Any) -> int | None:
    return ctypes.cast(obj, ctypes.c_void_p).value


def stepper(instance: Any, set_real: Any, do_step: Any, get_real: Any, fmi3: bool,
            in_vr: Any, in_val: Any, out_vr: Any | None, out_val: Any | None) -> Stepper | None:
    """A bound native step for one FMU instance, or None without the helper.

    The FMI functions are fmpy's ctypes function objects; the arrays are ctypes arrays the
    caller keeps filling in place (inputs) and reading (outputs; None: the caller reads them).
    The FMU's library must stay loaded while the result is used (FMUFederate.close drops it first).
    """
    fn = _fed_step()
    if fn is None:
        return None
    context = StepContext(_address(instance), _address(set_real), _address(do_step), _address(get_real),
                          int(fmi3), 0, ctypes.addressof(in_vr), ctypes.addressof(in_val),
                          None if out_vr is None else ctypes.addressof(out_vr),
                          None if out_val is None else ctypes.addressof(out_val),
                          0 if out_vr is None else len(out_vr), 0.0, 0, 0)
    bound = functools.partial(fn, ctypes.byref(context))
    # The context holds bare addresses: the call owns everything they point to.
    bound.keep = (context, in_vr, in_val, out_vr, out_val)  # type: ignore[attr-defined]
    bound.context = context  # type: ignore[attr-defined]  # read after ASKED_TERMINATE: last_time, early_return
    return bound


def build(cc: str | None = None) -> Path:
    """Compile fmi_step.c into LIBRARY (atomically, so concurrent runs never load half a file)."""
    cc = cc or os.environ.get("CC", "gcc")  # as fmus/build.py
    LIBRARY.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=LIBRARY.parent, suffix=LIBRARY.suffix)
    os.close(fd)
    try:
        subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", tmp, str(SOURCE)], check=True)
        os.replace(tmp, LIBRARY)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return LIBRARY
