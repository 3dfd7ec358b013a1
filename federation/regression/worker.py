"""One run of a suite's case, in a process of its own: `python -m federation.regression.worker JOB.json`.

A process per run, so that a run that hangs can be stopped (SIGTERM, as a CI job's timeout does: the run
ends as interrupted, its rows and run.json kept, its hosts and RTI stopped) without stopping the others;
and so that runs use every core. On Ray the task calls `run_job` itself.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)


def run_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Run `job` ({scenario, overrides, mode, out}) as `federation run SCENARIO --set ... --mode M --out OUT --force
    --no-plot` would: the overrides applied as --set applies them. Never raises (a KeyboardInterrupt
    excepted): returns {status, error}; run.json in `out` records the same, a scenario that fails to load too."""
    from federation.names import COORDINATOR_SITE
    from federation.runtime.modes import run_mode
    from federation.runtime.outputs import claim_output
    from federation.scenario import load_scenario

    out = Path(job["out"])
    try:
        folder = claim_output(out, "run", force=True)
        # As the CLI loads it: on Ray each site's host checks its own models, the coordinator none.
        scenario = load_scenario(job["scenario"], job.get("overrides") or None,
                                 site=COORDINATOR_SITE if job["mode"] == "ray" else None)
    except Exception as exc:  # an invalid scenario or override, a refused folder: this run fails, not the suite
        error = str(exc) or type(exc).__name__
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps({"status": "failed", "error": error, "mode": job["mode"],
                                                  "scenario": str(job["scenario"])}, indent=2) + "\n")
        return {"status": "failed", "error": error}
    try:
        result = run_mode(job["mode"], scenario, folder, plot=False)
        return {"status": result.status, "error": result.error}
    except Exception as exc:  # the run recorded how it failed in run.json
        return {"status": "failed", "error": str(exc) or type(exc).__name__}


def main(argv: list[str]) -> int:
    from federation.runtime.processes import die_with_parent, quick_thread_switches

    die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s: %(message)s")
    quick_thread_switches()  # as the CLI
    # Stopped (a timeout): end like Ctrl-C, keeping the rows and run.json, stopping hosts and RTI.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    job = json.loads(Path(argv[0]).read_text())
    try:
        outcome = run_job(job)
    except KeyboardInterrupt:
        return 130
    if outcome["error"]:
        print(outcome["error"], file=sys.stderr)
    return 0 if outcome["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
