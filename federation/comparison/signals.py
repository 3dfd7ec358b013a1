"""Signals: reading result tables (CSV with a time column, or in-memory series) and pairing their columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from federation.errors import ConfigurationError

Source = Union[str, Path, Mapping[str, "tuple[ArrayLike, ArrayLike]"]]


class CompareError(ConfigurationError, ValueError):
    """An input of a comparison is wrong: an unreadable file, a bad column, a mapping naming no column."""


@dataclass
class Table:
    """Signals by name, each (times in s, values), float64; `source` names where they came from."""

    source: str
    signals: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]


def read_table(source: Source, what: str = "results") -> Table:
    """A table from a CSV path (the time column: `time`, any case, else the first) or a mapping name -> (t, y)."""
    raise NotImplementedError
