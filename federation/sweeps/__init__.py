"""Ensembles: many independent runs of one scenario (grid or Monte Carlo), reusing runs whose inputs are unchanged.

params (reading parameters, expanding them to runs), inputs (the digests a run's reuse depends on),
runner (running them, embedded or on Ray), summary (each run's outcome and metrics, summary.csv).
"""

from federation.sweeps.params import (RunSpec, SweepError, expand, integer_parameters, parse_param, parse_value,
                                      run_name, split_setting)
from federation.sweeps.runner import MODES, SUMMARY, check_specs, run_sweep
from federation.sweeps.summary import RunOutcome, metrics_of, units_of, write_summary

__all__ = ["MODES", "SUMMARY", "RunOutcome", "RunSpec", "SweepError", "check_specs", "expand", "integer_parameters",
           "metrics_of", "parse_param", "parse_value", "run_name", "run_sweep", "split_setting", "units_of",
           "write_summary"]
