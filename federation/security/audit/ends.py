"""Checking where an audit log ends against what records it outside the file (head file, run.json), and who signed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from .chain import Chain, Tail, shared, walk_file
from .entries import GENESIS, AuditError, AuditUnreadable, clip, head_path, short
from .signing import Head, describe, fingerprint, issued_by, signature_matches, signer_role


def read_head_file(path: Path) -> Head | None:
    """The head recorded beside the log, None when there is no head file; AuditError when it is not one."""
    where = head_path(path)
    try:
        text = where.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditError(path, 0, f"cannot read its head file {where.name}: {exc.strerror or exc}") from None
    try:
        return Head.from_json(json.loads(text), where.name)
    except ValueError as exc:
        raise AuditError(path, 0, f"its head file {where.name} is not a head: {clip(str(exc))}") from None


def run_record(path: Path, run_json: Path | None) -> tuple[str, Head] | None:
    """The head run.json records for the log at `path`: `run_json` when named (AuditUnreadable when it
    records none), else run.json beside the log when it names this file."""
    named = run_json is not None
    run_json = run_json or path.parent / "run.json"
    try:
        data = json.loads(run_json.read_bytes())
    except FileNotFoundError:
        if named:
            raise AuditUnreadable(run_json, "no such file") from None
        return None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not JSON"
        if named or isinstance(exc, ValueError):
            raise AuditError(path, 0, f"cannot read {run_json}: {reason}") from None
        return None
    record = data.get("audit") if isinstance(data, dict) else None
    if record is None:
        if named:
            raise AuditUnreadable(run_json, "records no audit log (a run in embedded mode, or of an older version)")
        return None
    if not named and not (isinstance(record, dict) and record.get("file") == path.name):
        return None  # the run.json of the folder's current log, not of this (rotated) one
    try:
        return str(run_json if named else "run.json"), Head.from_json(record, f"{run_json}: audit")
    except ValueError as exc:
        raise AuditError(path, 0, clip(str(exc))) from None


def check_end(path: Path, chain: Chain, where: str, head: Head) -> None:
    """AuditError unless the walked `chain` ends where `head` (recorded in `where`) says, signed when it is."""
    count, last = chain.tail.seq, chain.tail.prev
    records = f"{where} records {head.entries} entries ending in hash {short(head.hash)}"
    if (count, last) == (head.entries, head.hash):
        pass
    elif count < head.entries:
        ends = "the log is empty" if count == 0 else f"the log ends at entry {count - 1}"
        raise AuditError(path, 0, f"{ends} but {records}: entries were removed from its end")
    elif (head.entries, head.hash) == (0, GENESIS):
        raise AuditError(path, 1, f"entry 0 is in a log that {where} records as empty: entries were appended")
    elif chain.hashes.get(head.entries - 1) == head.hash:
        raise AuditError(path, head.entries + 1, f"entry {head.entries} follows the last entry {where} records "
                                                 f"({head.entries} entries ending in hash {short(head.hash)}): "
                                                 "entries were appended")
    else:
        raise AuditError(path, 0, f"the log has {count} entries ending in hash {short(last)} but {records}: "
                                  "the chain was rebuilt")
    if head.signature is None:
        return
    try:
        signed = head.signature_ok()
    except ValueError:
        raise AuditError(path, 0, f"the certificate in {where} is not a certificate") from None
    if not signed:
        raise AuditError(path, 0, f"the signature in {where} does not match the head it records: the log's end "
                                  "was rewritten by someone without the signer's key")


@dataclass
class Verified:
    """What `verify_log` checked: the chain, where its end is recorded, who signed it, what was not checked."""

    tail: Tail
    recorded_in: list[str]
    signer: str | None = None  # who signed the head, from the certificate it carries
    ca_checked: bool = False
    notes: list[str] = field(default_factory=list)


def load_ca(ca: Path) -> x509.Certificate:
    """The CA certificate at `ca`, a PEM file or a certificate folder holding ca.pem; AuditUnreadable otherwise."""
    pem = ca / "ca.pem" if ca.is_dir() else ca
    try:
        return x509.load_pem_x509_certificate(pem.read_bytes())
    except OSError as exc:
        raise AuditUnreadable(pem, f"cannot read the CA certificate: {exc.strerror or exc}") from None
    except ValueError:
        raise AuditUnreadable(pem, "is not a PEM certificate") from None


def verify_log(path: Path | str, run_json: Path | None = None, ca: x509.Certificate | None = None) -> Verified:
    """Everything `verify` checks, and the log's end against what records it outside the file: its head
    file and run.json (beside it, or `run_json`), their signatures, and with `ca` that a head is signed
    by the RTI or the coordinator of that CA. AuditError names the first problem."""
    path = Path(path)
    records: list[tuple[str, Head]] = []
    with shared(path) as f:
        head = read_head_file(path)
        if head is not None:
            records.append((head_path(path).name, head))
        from_run = run_record(path, run_json)
        if from_run is not None:
            records.append(from_run)
        chain = walk_file(path, f, frozenset(h.entries - 1 for _, h in records))
    if not records:
        raise AuditError(path, 0, f"nothing outside the log records where it ends (no {head_path(path).name}, no "
                                  "run.json naming it): entries removed from its end would not show; name the "
                                  "run's record with --run RUN_JSON")
    result = Verified(chain.tail, [where for where, _ in records])
    certs: dict[str, x509.Certificate] = {}
    for where, h in records:
        check_end(path, chain, where, h)
        cert = h.cert()
        if cert is None:
            if ca is not None:
                raise AuditError(path, 0, f"the head in {where} is not signed, but a CA was given: a log of a TLS "
                                          "RTI or coordinator is always signed")
            continue
        certs[fingerprint(cert)] = cert
        result.signer = describe(cert)
        if ca is not None:
            if not issued_by(cert, ca):
                raise AuditError(path, 0, f"the head in {where} is signed with a certificate ({describe(cert)}) "
                                          "that the given CA did not issue")
            if signer_role(cert) is None:
                raise AuditError(path, 0, f"the head in {where} is signed by {describe(cert)}, which does not keep "
                                          "audit logs (only the RTI or the coordinator does)")
            result.ca_checked = True
    unchecked = 0
    for number, seq, prev, signature, cert_fp in chain.signed_ends:
        cert = certs.get(cert_fp)
        if cert is None:
            unchecked += 1
        elif not signature_matches(cert, signature, seq, prev):
            raise AuditError(path, number, f"the run_end entry's signature over the {seq} entries before it does "
                                           "not verify: the entries before it were rewritten")
    if unchecked:
        result.notes.append(f"{unchecked} run_end signature(s) of earlier runs not checked: their signer's "
                            "certificate is not recorded beside the log")
    if chain.open_run is not None:
        result.notes.append(f"the run that starts at entry {chain.open_run} has no run_end entry: it was killed, "
                            "or is still running")
    return result
