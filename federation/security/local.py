"""Security of one `federation run --mode grpc|ray`: throw-away certificates, the scenario's policy, the run's audit log."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from federation.results.recorder import RECORDER
from federation.scenario import Scenario

import grpc

from .audit import AuditLog
from .certs import COORDINATOR_SITE, CertDir, SiteCredentials, throwaway
from .guard import Guard
from .policy import Policy, from_scenario
from .tls import channel_credentials, server_credentials

log = logging.getLogger(__name__)

INSECURE_WARNING = ("insecure mode (no TLS): the RTI and the hosts talk in plaintext and trust the site each client claims; "
                    "use it only on a trusted machine")


class Ended(Protocol):
    """What says how a run ended: the runner sets `status`, the audit's run_end entry records it."""

    status: str


@dataclass
class RunEnd:
    """A run's end, for a run with no security of its own to carry it."""

    status: str = "failed"


@dataclass
class RunSecurity:
    """What a local run's RTI and hosts need: certificates (None when insecure), policy and audit paths."""

    certs: CertDir | None
    policy: Policy
    policy_path: Path
    audit_path: Path
    status: str = "failed"  # set by the runner; recorded as the run's end

    def credentials(self, site: str) -> SiteCredentials | None:
        return None if self.certs is None else SiteCredentials.load(self.certs.root, site)

    def channel(self, site: str) -> grpc.ChannelCredentials | None:
        creds = self.credentials(site)
        return None if creds is None else channel_credentials(creds)

    def server(self) -> grpc.ServerCredentials | None:
        return None if self.certs is None else server_credentials(self.certs.root)

    def guard(self) -> Guard:
        """An in-process RTI's guard, auditing into the run's log (close its audit before the run ends)."""
        return Guard(self.policy, AuditLog(self.audit_path), tls=self.certs is not None)

    def rti_args(self) -> list[str]:
        """`federation rti serve` options enforcing this run's security."""
        args = ["--policy", str(self.policy_path), "--audit", str(self.audit_path)]
        return args + self.host_args()

    def host_args(self) -> list[str]:
        """`federation host` options: mTLS with the throw-away certificates (plaintext when insecure)."""
        return ["--tls", str(self.certs.root)] if self.certs else []


def owners(scenario: Scenario) -> list[str]:
    return sorted({spec.owner for spec in scenario.federates.values()})


@contextmanager
def run_security(scenario: Scenario, out_dir: Path, mode: str, insecure: bool,
                 hosts: Iterable[str] = ()) -> Iterator[RunSecurity]:
    """Certificates for every owner and the coordinator (unless insecure), the derived policy in
    out_dir/policy.yaml and a fresh out_dir/audit.jsonl that opens and closes with the run."""
    policy = from_scenario(scenario, COORDINATOR_SITE, RECORDER)
    policy_path = out_dir / "policy.yaml"
    policy_path.write_text(policy.to_yaml())
    if insecure:
        log.warning(INSECURE_WARNING)
    with ExitStack() as stack:
        certs = None if insecure else stack.enter_context(
            throwaway(scenario.federation, [*owners(scenario), COORDINATOR_SITE], hosts))
        sec = RunSecurity(certs, policy, policy_path, out_dir / "audit.jsonl")
        with audited_run(scenario, out_dir, mode, not insecure, sec):
            yield sec


@contextmanager
def audited_run(scenario: Scenario, out_dir: Path, mode: str, tls: bool, end: Ended | None = None,
                **fields: object) -> Iterator[Ended]:
    """A fresh out_dir/audit.jsonl opened with the run's start (`fields` added) and closed with its end,
    `end.status` as the runner set it (failed unless it says otherwise)."""
    audit_path = out_dir / "audit.jsonl"
    audit_path.unlink(missing_ok=True)  # one chain per run: the folder's results are this run's too
    ending: Ended = end if end is not None else RunEnd()
    _append(audit_path, "run_start", federation=scenario.federation, mode=mode, tls=tls,
            scenario_sha256=scenario.sha256(), sites=owners(scenario), **fields)
    try:
        yield ending
    finally:
        _append(audit_path, "run_end", federation=scenario.federation, status=ending.status)


def _append(path: Path, event: str, **fields: object) -> None:
    with AuditLog(path) as audit:
        audit.record(event, **fields)
