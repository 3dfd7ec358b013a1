"""The HTML report: a summary table per section, then one plot per failing signal (PNG files beside index.html)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence, Union

from .checks import Check
from .comparing import Comparison

Section = Union[Comparison, Sequence[Check]]


def write_report(out_dir: str | Path, sections: Mapping[str, Section], title: str = "Comparison report") -> Path:
    """Write out_dir/index.html (and a PNG per failing signal of each Comparison); return the page's path.

    `sections`: a heading -> a Comparison (its table, then its failing signals' plots) or a list of Checks
    (a table only: a suite's expectations that need no reference)."""
    raise NotImplementedError
