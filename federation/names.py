"""The one rule for the names a federation carries beyond the scenario: sites and federations.

A site name names a certificate (X.509 common name, sites/<site>.pem), a log file (host-<site>.log),
a Ray resource (site:<site>), a policy entry and a gRPC identity header; a federation name is the
certificate authority's organization and a policy key (matched as a glob). So both are held, in
every mode, to what all of these accept: 1 to 64 letters, digits, '_', '.' or '-', not starting
with '.' or '-'. `validate` applies it; so do `certs init` and `certs issue`.
"""

from __future__ import annotations

import re

__all__ = ["COORDINATOR_SITE", "MAX_NAME_LENGTH", "NAME_RULE", "name_problem"]

COORDINATOR_SITE = "coordinator"  # the site that creates a run's federation and records it
MAX_NAME_LENGTH = 64  # an X.509 common name or organization holds at most 64 characters
NAME_RULE = f"1 to {MAX_NAME_LENGTH} letters, digits, '_', '.' or '-', not starting with '.' or '-'"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


def name_problem(what: str, name: str) -> str | None:
    """Why `name` cannot be a site or federation name (`what` says which), or None when it can."""
    if len(name) > MAX_NAME_LENGTH:
        return f"{what} {name[:20]!r}... is {len(name)} characters long; it must be {NAME_RULE}"
    if not _NAME.match(name):
        return f"{what} {name!r} must be {NAME_RULE}"
    return None
