"""Comparing results with a reference: tolerance tubes (funnel's), error metrics, an HTML report, JUnit XML.

`compare(results, reference)` reads two result tables (CSV files with a time column, or mappings of
name -> (times, values)), pairs their signals (by name, or by a mapping), puts a tube around each
reference signal (tubes: funnel's algorithm, the one behind BuildingsPy's regression tests), and returns a
`Comparison`: one `SignalComparison` per paired signal, the missing and the extra variables, and one
`Check` per signal for a report (`write_report`) or a CI server (`write_junit`).

Modules: tolerances (Tolerance, Tolerances), signals (reading tables, pairing columns), tubes (the
funnel), metrics (RMSE, NRMSE, max error), compare (the comparison itself), report (HTML), junit (XML).
"""

from __future__ import annotations

from .checks import Check
from .comparing import Comparison, SignalComparison, compare, describe
from .junit import write_junit
from .report import write_report
from .signals import CompareError, Table, read_table
from .tolerances import DEFAULT, Tolerance, Tolerances, tolerances_of

__all__ = ["DEFAULT", "Check", "CompareError", "Comparison", "SignalComparison", "Table", "Tolerance", "Tolerances",
           "compare", "describe", "read_table", "tolerances_of", "write_junit", "write_report"]
