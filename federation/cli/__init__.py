"""The `federation` command: parsing options and printing, one module per family of commands.

common (the command group, errors to exit codes, shared options), running (validate, run, coordinate,
policy, sweep), serving (rti serve/status, host), keys (certs, clean, audit verify, inspect),
comparing (compare), testing (test).
"""

from __future__ import annotations

import logging
import sys

from federation.cli import comparing, keys, running, serving, testing  # noqa: F401  (their commands register on the app)
from federation.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    from federation.runtime.processes import die_with_parent, quick_thread_switches

    die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s: %(message)s")
    quick_thread_switches()
    app()

