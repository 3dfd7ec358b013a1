"""RTI core: pure, deterministic HLA services shared by every runtime (no I/O, no threads)."""

from . import callbacks, errors
from .execution import FederationExecution
from .fom import FOM
from .registry import RTI
from .time import TICKS_PER_SECOND, LogicalTime, to_seconds, to_ticks

__all__ = [
    "FOM",
    "RTI",
    "TICKS_PER_SECOND",
    "FederationExecution",
    "LogicalTime",
    "callbacks",
    "errors",
    "to_seconds",
    "to_ticks",
]
