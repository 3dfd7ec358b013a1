"""Starting an RTI server from one ServerConfig: what `federation rti serve` and the launchers share.

`start` checks the configuration, loads the policy and the TLS credentials, opens the audit log and
serves; every problem raises ServerStartError naming the option at fault, before anything listens.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from federation.errors import ConfigurationError
from federation.security.audit import AuditError, AuditLog, Signer
from federation.security.certs import CertDir, CertificateError
from federation.security.guard import Guard
from federation.security.policy import Policy, PolicyError, load_policy
from federation.security.tls import is_loopback, server_credentials

from federation.server.limits import Limits
from federation.server.serving import ServerHandle, serve

log = logging.getLogger(__name__)


class ServerStartError(ConfigurationError):
    """The server cannot start as configured; the message names the option (listen address, policy,
    certificates, audit log) at fault."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything an RTI server is started with.

    `listen`: HOST:PORT (port 0 picks a free one). `tls`: a certificate directory (federation certs
    init) for mutual TLS; without it the server refuses to listen beyond loopback unless `insecure`.
    `policy`: who may do what (a Policy, or the YAML file of one); None lets every client do anything.
    `audit`: the audit log (JSON Lines; None: no log), signed with the RTI's key under TLS.
    `gate`: accept connections through the connection gate (gate.py), which caps them per address.
    """

    listen: str = "127.0.0.1:50051"
    limits: Limits = field(default_factory=Limits)
    tls: Path | None = None
    policy: Policy | Path | None = None
    audit: Path | None = None
    insecure: bool = False
    gate: bool = True
    max_workers: int = 16

    def check(self) -> None:
        """ServerStartError when `listen` is not HOST:PORT, or lies beyond loopback without TLS nor `insecure`."""
        host, sep, port = self.listen.rpartition(":")
        if not sep or not port.isdigit() or int(port) > 65535:
            raise ServerStartError(f"--listen expects HOST:PORT with a port from 0 to 65535 (0: any free one), "
                                   f"got {self.listen!r}")
        if self.tls is None and not self.insecure and not is_loopback(host):
            raise ServerStartError(
                f"refusing to listen on {host or 'every interface'} without TLS: anyone who reaches it could claim "
                "any site; pass --tls DIR (federation certs init), or --insecure to serve plaintext there anyway")


def start(config: ServerConfig) -> ServerHandle:
    """Serve the RTI, admin and health services as `config` says; stop them with `handle.stop(grace).wait()`,
    which also closes the audit log. The handle's `port` is the one it listens on, `address` HOST:PORT."""
    config.check()
    tls = config.tls
    if tls is None and not is_loopback(config.listen.rpartition(":")[0]):
        log.warning("serving plaintext beyond loopback, on %s", config.listen)
    try:
        policy = load_policy(config.policy) if isinstance(config.policy, Path) else config.policy
        credentials = server_credentials(tls) if tls else None
    except (PolicyError, CertificateError) as exc:
        raise ServerStartError(str(exc)) from None
    if policy is None:
        log.warning("no --policy: every %sclient may create, join, subscribe and administer anything",
                    "authenticated " if tls else "")
    signer = _rti_signer(tls)
    audit = _audit_log(config.audit, signer)
    try:
        handle, _, _ = serve(config.listen, config.limits, credentials, config.max_workers,
                                guard=Guard(policy, audit, tls=tls is not None, signer=signer), gate=config.gate)
    except (RuntimeError, OSError) as exc:  # gRPC says only that it could not bind
        if audit is not None:
            audit.close()
        why = " or the --tls certificate and key are not a valid pair" if tls else ""
        raise ServerStartError(f"cannot listen on {config.listen}: the port is in use, the address is not this "
                               f"machine's or does not resolve{why} ({exc})") from None
    if audit is not None:
        handle.closers.append(audit.close)
    return handle


def _rti_signer(tls: Path | None) -> Signer | None:
    """With TLS, the RTI's own key: it signs the audit log's heads (docs/security.md, "Audit log") and the
    routing plans of direct federations."""
    if tls is None:
        return None
    certs = CertDir(tls)
    try:
        return Signer.load(certs.rti_key, certs.rti_cert, certs.ca_cert)
    except (OSError, ValueError) as exc:
        raise ServerStartError(f"cannot sign with the RTI's key: {exc}") from None


def _audit_log(path: Path | None, signer: Signer | None) -> AuditLog | None:
    if path is None:
        return None
    try:
        return AuditLog(path, signer)
    except (AuditError, OSError, ValueError) as exc:
        raise ServerStartError(f"cannot use the audit log: {exc}") from None


def write_ready_file(path: Path, handle: ServerHandle) -> None:
    """Say, atomically, that `handle` listens: a JSON object {"listen": "HOST:PORT", "port": N, "pid": N}
    appears at `path` whole or not at all (a parent polls for it instead of parsing our output)."""
    text = json.dumps({"listen": handle.address, "port": handle.port, "pid": os.getpid()})
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
