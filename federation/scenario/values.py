"""How values travel between federates: which output types may feed which inputs, and hints for misspelt names."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

from federation.kinds.interface import VariableInfo

from .schema import Connection

__all__ = ["did_you_mean", "type_mismatch"]


def _int_values(info: VariableInfo) -> tuple[int, int] | None:
    """The values an integer variable may take: its FMI type's, within its declared min/max or enumeration items."""
    width = info.int_range
    if width is None:
        return None
    lo = width[0] if info.min is None else max(width[0], math.ceil(info.min))
    hi = width[1] if info.max is None else min(width[1], math.floor(info.max))
    return lo, hi


def _narrows(src: VariableInfo, dst: VariableInfo) -> bool:
    """Whether an Integer connection could truncate: the source may send values the target's FMI type cannot hold."""
    values, dst_range = _int_values(src), dst.int_range
    return values is not None and dst_range is not None and not dst_range[0] <= values[0] <= values[1] <= dst_range[1]


def _exact_integers(real: VariableInfo) -> int:
    """The largest n such that a Real variable holds every integer in [-n, n] exactly (its mantissa's reach)."""
    return 2 ** 24 if real.fmi_type == "Float32" else 2 ** 53


def type_mismatch(connection: Connection, src: VariableInfo, dst: VariableInfo) -> str | None:
    """Why an output cannot feed an input of another type or width, and what to do; None when it can.

    Values travel as doubles, so an Integer output feeds a Real input exactly as long as every value
    it may take is an integer the input holds exactly: that widening is the one conversion made.
    """
    src_type, dst_type = src.fmi_type or src.type, dst.fmi_type or dst.type
    head = f"type mismatch: {connection.src} is {src_type}, {connection.dst} is {dst_type}"
    if src.type == dst.type:
        return f"{head}, which cannot hold all its values" if _narrows(src, dst) else None
    values = _int_values(src)
    if src.type == "Integer" and dst.type == "Real" and values is not None:
        reach = _exact_integers(dst)
        if -reach <= values[0] and values[1] <= reach:
            return None
        bits = reach.bit_length() - 1
        return (f"{head}: an Integer feeds a Real input exactly only up to 2**{bits} in magnitude, and "
                f"{connection.src} may reach [{values[0]}, {values[1]}]; declare its min/max within "
                f"+/-2**{bits} in the model" + ("" if bits == 53 else ", or connect a Float64 input"))
    if src.type == "Real" and dst.type == "Integer":
        why = "a Real value may have a fraction, which an Integer input would lose"
    elif "Boolean" in (src.type, dst.type):
        why = "a Boolean is true or false, not a number"
    else:
        why = "no conversion is made between these types"
    return (f"{head}: {why}; only an Integer output may feed a Real input. Connect an input of the output's "
            "type, or convert the value inside one of the models")


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' with the candidates closest to a misspelt name (case aside), or ''."""
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(name.lower(), list(by_folded), n=3)
    if not close:
        return ""
    names = [repr(by_folded[c]) for c in close]
    return f"; did you mean {' or '.join(names) if len(names) < 3 else ', '.join(names[:-1]) + ' or ' + names[-1]}?"

