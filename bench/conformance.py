"""Conformance table: each FMU of the suite alone, in each mode, against fmpy as the reference master.

    python bench/conformance.py [--modes embedded relay direct ray] [--stop 10] [--step 0.25]

Prints FMU, FMI version, interface, mode, rows and the largest difference to fmpy.simulate_fmu (absolute,
and relative with where). The cases are tests/conformance/suite.py's: the twins, the purpose-made C FMUs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the suite lives beside its tests

from conformance import suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["embedded", "relay", "direct"], choices=list(suite.MODES))
    parser.add_argument("--stop", type=float, default=10.0)
    parser.add_argument("--step", type=float, default=0.25)
    args = parser.parse_args()
    subprocess.run([sys.executable, str(REPO / "fmus" / "build.py")], check=True, capture_output=True)
    cases = suite.all_cases()
    print(f"{'FMU':<16} {'FMI':>3}  {'interface':<14} {'mode':<9} {'rows':>5}  {'max |diff|':>10}  "
          f"{'max rel diff':>12}  target   where")
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        for mode in args.modes:
            found = suite.alone(cases, Path(tmp) / mode, mode, args.stop, args.step)
            for case in cases:
                d = found[case.name]
                verdict = "ok" if d.within(case.rtol) else "MISSED"
                detail = d.problem or d.where
                print(f"{case.name:<16} {case.fmi_version:>3}  {case.interface:<14} {mode:<9} {d.rows:>5}  "
                      f"{d.max_abs:>10.3g}  {d.max_rel:>12.3g}  {verdict:<7}  {detail}", flush=True)


if __name__ == "__main__":
    main()
