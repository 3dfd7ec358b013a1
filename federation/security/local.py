"""Security of one `federation run --mode grpc|ray`: throw-away certificates, the scenario's policy, the run's audit log."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from federation.names import COORDINATOR_SITE, RECORDER
from federation.scenario import Scenario

import grpc

from .audit import AuditError, AuditLog, Signer, open_continuing
from .certs import CertDir, SiteCredentials, throwaway
from .policy import Policy, from_scenario
from .tls import channel_credentials

log = logging.getLogger(__name__)

INSECURE_WARNING = ("insecure mode (no TLS): the RTI and the hosts talk in plaintext and trust the site each client claims; "
                    "use it only on a trusted machine")


class Ended(Protocol):
    """What closes a run's audit log: the runner calls `end` with the run's status before it writes run.json."""

    def end(self, status: str) -> dict[str, Any]:
        """Record the run's end; returns what run.json records of it."""


class RunAudit:
    """A run's audit log: run_start when the run opens it, one run_end (signed, when there is a key) when
    `end` is first called. What `end` returns, run.json's `audit`, names the log and its head."""

    def __init__(self, path: Path, federation: str, signer: Signer | None) -> None:
        self.path, self.federation, self.signer = path, federation, signer
        self._ended: dict[str, Any] | None = None

    def end(self, status: str) -> dict[str, Any]:
        if self._ended is None:
            record: dict[str, Any] = {"file": self.path.name}
            try:
                with AuditLog(self.path, self.signer) as audit:
                    record.update(audit.record_signed("run_end", federation=self.federation,
                                               status=status).to_json())
            except (AuditError, OSError) as exc:  # the run's own outcome must still reach run.json
                log.error("cannot record the run's end in its audit log: %s", exc)
                record["error"] = str(exc)
            self._ended = {"audit": record}
        return self._ended


@dataclass
class RunSecurity:
    """What a local run's RTI and hosts need: certificates (None when insecure), policy and audit log."""

    certs: CertDir | None
    policy: Policy
    policy_path: Path
    audit: RunAudit

    @property
    def audit_path(self) -> Path:
        return self.audit.path

    def end(self, status: str) -> dict[str, Any]:
        return self.audit.end(status)

    def credentials(self, site: str) -> SiteCredentials | None:
        return None if self.certs is None else SiteCredentials.load(self.certs.root, site)

    def channel(self, site: str) -> grpc.ChannelCredentials | None:
        creds = self.credentials(site)
        return None if creds is None else channel_credentials(creds)

    def rti_args(self) -> list[str]:
        """`federation rti serve` options enforcing this run's security."""
        args = ["--policy", str(self.policy_path), "--audit", str(self.audit_path)]
        return args + (["--tls", str(self.certs.root)] if self.certs else [])  # mTLS, plaintext when insecure


@contextmanager
def run_security(scenario: Scenario, out_dir: Path, mode: str, insecure: bool,
                 hosts: Iterable[str] = ()) -> Iterator[RunSecurity]:
    """Certificates for every site and the coordinator (unless insecure), the derived policy in
    out_dir/policy.yaml and out_dir/audit.jsonl (see audited_run), signed with the throw-away RTI key."""
    policy = from_scenario(scenario, COORDINATOR_SITE, RECORDER)
    policy_path = out_dir / "policy.yaml"
    policy_path.write_text(policy.to_yaml())
    if insecure:
        log.warning(INSECURE_WARNING)
    with ExitStack() as stack:
        certs = None if insecure else stack.enter_context(
            throwaway(scenario.federation, [*scenario.sites(), COORDINATOR_SITE], hosts))
        # The RTI's key is deleted with the certificates after the run: its signature proves little (docs/security.md).
        signer = None if certs is None else Signer.load(certs.rti_key, certs.rti_cert, certs.ca_cert)
        with audited_run(scenario, out_dir, mode, not insecure, signer) as audit:
            yield RunSecurity(certs, policy, policy_path, audit)


@contextmanager
def audited_run(scenario: Scenario, out_dir: Path, mode: str, tls: bool, signer: Signer | None = None,
                **fields: object) -> Iterator[RunAudit]:
    """out_dir/audit.jsonl opened with the run's start (`fields` added) and closed with its end: by the
    runner (`RunAudit.end`, before run.json), else as failed. The log of an earlier run in that folder is
    continued when `signer` can vouch for it, else moved aside to audit.N.jsonl; never deleted."""
    audit = RunAudit(out_dir / "audit.jsonl", scenario.federation, signer)
    with open_continuing(audit.path, signer) as opened:
        opened.record("run_start", federation=scenario.federation, mode=mode, tls=tls,
                      scenario_sha256=scenario.sha256(), sites=scenario.sites(), **fields)
    try:
        yield audit
    finally:
        audit.end("failed")  # a no-op when the runner ended it
