"""Append-only, hash-chained audit log (JSON Lines): who joined, declared, was denied, administered, ran.

Every line is one entry in canonical JSON (`canonical`): the chain's hashes cover each entry's
content, the canonical form covers its bytes. What a chain cannot show by itself, entries
removed from its end or appended after it, is recorded outside the file: every writer keeps
the log's head (number of entries, hash of the last one) in a head file beside it
(`audit.jsonl` -> `audit.head.json`), a run copies its final head into run.json, and a run's
`run_end` entry carries the head before it. A writer holding a key (the RTI's, or the
coordinator's site key) signs each head, so that nobody without that key can
rebuild a chain whose head still verifies. docs/security.md says what this does and does not
protect.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from federation.errors import CarriesFields, ConfigurationError

from .certs import COORDINATOR_SITE, site_of_cert

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# Entries carry identities, names and verdicts; a field with any of these names would carry data.
_FORBIDDEN_FIELDS = frozenset({"value", "values", "parameters_values", "updates"})
_SIGNED = b"federation audit head\n"  # what a head signature is about, so that it signs nothing else


class AuditError(CarriesFields, ConfigurationError):
    """An audit log failed verification: `line` (1-based) is the first bad entry, 0 when the problem
    is not one line's (its end, its head file, a signature)."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}: line {line}: {reason}" if line else f"{path}: {reason}")


class AuditUnreadable(AuditError):
    """An audit log that cannot be read at all (missing, a folder, no permission): nothing was verified."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.line, self.reason = path, 0, reason
        Exception.__init__(self, f"{path}: {reason}")


def canonical(entry: dict[str, Any]) -> str:
    """An entry's one accepted form: sorted keys, no spaces, ASCII only (others escaped), no NaN."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _digest(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"}).encode()).hexdigest()


def head_path(path: Path) -> Path:
    """Where the head of the log at `path` is kept: `audit.jsonl` -> `audit.head.json`."""
    return path.with_suffix(".head.json")


def _short(digest: str) -> str:
    return f"{digest[:12]}.."


# ---------------------------------------------------------------------------------------------------- heads

def _message(entries: int, digest: str) -> bytes:
    return _SIGNED + canonical({"entries": entries, "hash": digest}).encode()


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate (DER), hex: how a run_end entry names its signer's certificate."""
    return cert.fingerprint(hashes.SHA256()).hex()


def signer_role(cert: x509.Certificate) -> str | None:
    """Who a certificate lets sign an audit head: the RTI (server certificate) or the coordinator site."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.SERVER_AUTH in usages:
        return "the RTI"
    if ExtendedKeyUsageOID.CLIENT_AUTH in usages and site_of_cert(cert) == COORDINATOR_SITE:
        return f"site {COORDINATOR_SITE!r}"
    return None


def _describe(cert: x509.Certificate) -> str:
    role = signer_role(cert)
    return role or f"site {site_of_cert(cert)!r}"


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether the CA signed this certificate (the federation's CAs issue directly: no intermediates).
    Validity dates are not checked: a log is verified long after its run."""
    try:
        cert.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


@dataclass(frozen=True)
class Head:
    """Where a chain ends: its number of entries and the hash of the last one, signed or not."""

    entries: int
    hash: str
    signature: str | None = None  # base64 DER ECDSA-SHA256 over _message(entries, hash)
    certificate: str | None = None  # the signer's certificate, PEM

    def to_json(self) -> dict[str, Any]:
        signed = {"signature": self.signature, "certificate": self.certificate} if self.signature else {}
        return {"entries": self.entries, "hash": self.hash, **signed}

    @classmethod
    def from_json(cls, data: object, where: str) -> Head:
        """A head as a head file or run.json records it; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"{where} does not record a head (an object with entries and hash)")
        entries, digest = data.get("entries"), data.get("hash")
        signature, certificate = data.get("signature"), data.get("certificate")
        if not (isinstance(entries, int) and not isinstance(entries, bool) and entries >= 0
                and isinstance(digest, str) and len(digest) == 64):
            raise ValueError(f"{where} does not record a head (entries: a count, hash: a SHA-256)")
        if signature is not None and not (isinstance(signature, str) and isinstance(certificate, str)):
            raise ValueError(f"{where}: a signature needs its certificate (both text)")
        return cls(entries, digest, signature, certificate)

    def cert(self) -> x509.Certificate | None:
        """The signer's certificate; ValueError when it is not one."""
        return None if self.certificate is None else x509.load_pem_x509_certificate(self.certificate.encode())

    def signature_ok(self) -> bool:
        cert = self.cert()
        return cert is not None and self.signature is not None and _signature_ok(cert, self.signature,
                                                                                 self.entries, self.hash)


def _signature_ok(cert: x509.Certificate, signature: str, entries: int, digest: str) -> bool:
    key = cert.public_key()
    try:
        raw = base64.b64decode(signature, validate=True)
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(raw, _message(entries, digest), ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(raw, _message(entries, digest), padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
        return True
    except (InvalidSignature, ValueError):
        return False


class Signer:
    """A writer's key and certificate (and the CA that issued it): signs the heads of the logs it writes
    (ECDSA with an EC key, as `certs init` makes; PKCS#1 v1.5 with an RSA key of another PKI)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cert: x509.Certificate, ca: x509.Certificate | None) -> None:
        self.key, self.cert, self.ca = key, cert, ca
        self.pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.fingerprint = fingerprint(cert)

    @classmethod
    def from_pem(cls, key: bytes, cert: bytes, ca: bytes | None = None) -> Signer:
        """ValueError when the key is not an EC key or the PEM does not parse."""
        private = serialization.load_pem_private_key(key, None)
        if not isinstance(private, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise ValueError("an audit log is signed with an EC or RSA key; this key is neither")
        return cls(private, x509.load_pem_x509_certificate(cert),
                   None if ca is None else x509.load_pem_x509_certificate(ca))

    @classmethod
    def load(cls, key: Path, cert: Path, ca: Path | None = None) -> Signer:
        """From files; OSError or ValueError naming the file that cannot be used."""
        try:
            return cls.from_pem(key.read_bytes(), cert.read_bytes(), None if ca is None else ca.read_bytes())
        except ValueError as exc:
            raise ValueError(f"cannot sign the audit log with {key} and {cert}: {exc}") from None

    def sign(self, entries: int, digest: str) -> str:
        message = _message(entries, digest)
        if isinstance(self.key, rsa.RSAPrivateKey):
            return base64.b64encode(self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        return base64.b64encode(self.key.sign(message, ec.ECDSA(hashes.SHA256()))).decode()

    def head(self, entries: int, digest: str) -> Head:
        return Head(entries, digest, self.sign(entries, digest), self.pem)


# ------------------------------------------------------------------------------------------------ the chain

@dataclass(frozen=True)
class Tail:
    """Where a chain ends: the next sequence number and the hash the next entry must carry."""

    seq: int
    prev: str


@dataclass
class Chain:
    """What a walk over a whole log found: its tail, the hashes asked for, its run_end entries' signatures."""

    tail: Tail = Tail(0, GENESIS)
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash, for the seqs asked for
    signed_ends: list[tuple[int, int, str, str, str]] = field(default_factory=list)  # line, seq, prev, signature, cert
    open_run: int | None = None  # seq of the last run_start with no run_end after it


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _entry(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    """One line, parsed and checked to be exactly the canonical form of what it holds."""
    if not raw.endswith(b"\n"):
        raise AuditError(path, number, "the last line does not end with a newline (the file was cut or appended to)")
    try:
        entry = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise AuditError(path, number, f"key {exc.args[0]!r} appears twice in one object: the line was edited "
                                       "(a writer never repeats a key)") from None
    except (ValueError, RecursionError):
        raise AuditError(path, number, "not a JSON object") from None
    if not isinstance(entry, dict):
        raise AuditError(path, number, "not a JSON object")
    try:
        expected = canonical(entry).encode() + b"\n"
    except ValueError:  # a number too large for a float (1e999) reads as inf, which no writer writes
        raise AuditError(path, number, "holds a number no writer writes (infinite)") from None
    if raw != expected:
        at = next((i for i, (a, b) in enumerate(zip(raw, expected)) if a != b), min(len(raw), len(expected)))
        raise AuditError(path, number, f"not in canonical form (sorted keys, no spaces, ASCII escapes) from "
                                       f"character {at + 1}: the line was rewritten")
    return entry


def _walk(path: Path, f: IO[bytes], wanted: frozenset[int] = frozenset()) -> Chain:
    chain = Chain()
    tail = chain.tail
    after_end = False
    for number, raw in enumerate(f, 1):
        entry = _entry(path, number, raw)
        if entry.get("seq") != tail.seq:
            raise AuditError(path, number, f"sequence number {entry.get('seq')!r}, expected {tail.seq} "
                                           "(an entry was removed, inserted or reordered)")
        if entry.get("prev") != tail.prev:
            raise AuditError(path, number, "previous-entry hash does not match (the chain is broken here)")
        if entry.get("hash") != _digest(entry):
            raise AuditError(path, number, "entry hash does not match its content (the entry was edited)")
        event = entry.get("event")
        if after_end and event != "run_start":
            raise AuditError(path, number, f"entry {tail.seq} ({_clip(str(event))}) follows the run_end entry "
                                           f"{tail.seq - 1}: nothing is recorded after a run ends but a new run")
        after_end = event == "run_end"
        if event == "run_start":
            chain.open_run = tail.seq
        elif after_end:
            chain.open_run = None
            signature, cert = entry.get("signature"), entry.get("certificate")
            if isinstance(signature, str) and isinstance(cert, str):
                chain.signed_ends.append((number, tail.seq, tail.prev, signature, cert))
        if tail.seq in wanted:
            chain.hashes[tail.seq] = entry["hash"]
        tail = Tail(tail.seq + 1, entry["hash"])
    chain.tail = tail
    return chain


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise AuditUnreadable(path, "no such file") from None
    except IsADirectoryError:
        raise AuditUnreadable(path, "is a folder, not an audit log") from None
    except OSError as exc:
        raise AuditUnreadable(path, f"cannot read: {exc.strerror or exc}") from None


@contextmanager
def _shared(path: Path) -> Iterator[IO[bytes]]:
    """The log, open for reading under a shared lock: a writer appends an entry and replaces its head under
    an exclusive one, so what is read with it (the head file too) is one moment's."""
    with _open(path) as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        yield f


def _walk_file(path: Path, f: IO[bytes], wanted: frozenset[int] = frozenset()) -> Chain:
    try:
        return _walk(path, f, wanted)
    except OSError as exc:
        raise AuditUnreadable(path, f"cannot read: {exc.strerror or exc}") from None


def verify(path: Path | str) -> Tail:
    """Check every line's canonical form, sequence number, back-link and hash, and that nothing but a new
    run follows a run_end; raise AuditError at the first bad line, AuditUnreadable when the file cannot be
    read. The log's end is checked by `verify_log`."""
    path = Path(path)
    with _shared(path) as f:
        return _walk_file(path, f).tail


# ----------------------------------------------------------------------------------------- the end, outside

def _read_head_file(path: Path) -> Head | None:
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
        raise AuditError(path, 0, f"its head file {where.name} is not a head: {_clip(str(exc))}") from None


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
        raise AuditError(path, 0, _clip(str(exc))) from None


def _check_end(path: Path, chain: Chain, where: str, head: Head) -> None:
    count, last = chain.tail.seq, chain.tail.prev
    records = f"{where} records {head.entries} entries ending in hash {_short(head.hash)}"
    if (count, last) == (head.entries, head.hash):
        pass
    elif count < head.entries:
        ends = "the log is empty" if count == 0 else f"the log ends at entry {count - 1}"
        raise AuditError(path, 0, f"{ends} but {records}: entries were removed from its end")
    elif (head.entries, head.hash) == (0, GENESIS):
        raise AuditError(path, 1, f"entry 0 is in a log that {where} records as empty: entries were appended")
    elif chain.hashes.get(head.entries - 1) == head.hash:
        raise AuditError(path, head.entries + 1, f"entry {head.entries} follows the last entry {where} records "
                                                 f"({head.entries} entries ending in hash {_short(head.hash)}): "
                                                 "entries were appended")
    else:
        raise AuditError(path, 0, f"the log has {count} entries ending in hash {_short(last)} but {records}: "
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
    with _shared(path) as f:
        head = _read_head_file(path)
        if head is not None:
            records.append((head_path(path).name, head))
        from_run = run_record(path, run_json)
        if from_run is not None:
            records.append(from_run)
        chain = _walk_file(path, f, frozenset(h.entries - 1 for _, h in records))
    if not records:
        raise AuditError(path, 0, f"nothing outside the log records where it ends (no {head_path(path).name}, no "
                                  "run.json naming it): entries removed from its end would not show; name the "
                                  "run's record with --run RUN_JSON")
    result = Verified(chain.tail, [where for where, _ in records])
    certs: dict[str, x509.Certificate] = {}
    for where, h in records:
        _check_end(path, chain, where, h)
        cert = h.cert()
        if cert is None:
            if ca is not None:
                raise AuditError(path, 0, f"the head in {where} is not signed, but a CA was given: a log of a TLS "
                                          "RTI or coordinator is always signed")
            continue
        certs[fingerprint(cert)] = cert
        result.signer = _describe(cert)
        if ca is not None:
            if not issued_by(cert, ca):
                raise AuditError(path, 0, f"the head in {where} is signed with a certificate ({_describe(cert)}) "
                                          "that the given CA did not issue")
            if signer_role(cert) is None:
                raise AuditError(path, 0, f"the head in {where} is signed by {_describe(cert)}, which does not keep "
                                          "audit logs (only the RTI or the coordinator does)")
            result.ca_checked = True
    unchecked = 0
    for number, seq, prev, signature, cert_fp in chain.signed_ends:
        cert = certs.get(cert_fp)
        if cert is None:
            unchecked += 1
        elif not _signature_ok(cert, signature, seq, prev):
            raise AuditError(path, number, f"the run_end entry's signature over the {seq} entries before it does "
                                           "not verify: the entries before it were rewritten")
    if unchecked:
        result.notes.append(f"{unchecked} run_end signature(s) of earlier runs not checked: their signer's "
                            "certificate is not recorded beside the log")
    if chain.open_run is not None:
        result.notes.append(f"the run that starts at entry {chain.open_run} has no run_end entry: it was killed, "
                            "or is still running")
    return result


# --------------------------------------------------------------------------------------------------- writing

def _last_tail(path: Path) -> Tail:
    """The tail after the file's last entry (trusted: `verify` is the check).

    Reads back from the end in growing chunks until the whole last line is in, however long.
    """
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        chunk = 65536
        while True:
            start = max(0, end - chunk)
            f.seek(start)
            data = f.read(end - start).rstrip(b"\n")
            if start == 0 or b"\n" in data:
                break
            chunk *= 4
    if not data:
        return Tail(0, GENESIS)
    last = json.loads(data.rsplit(b"\n", 1)[-1])
    return Tail(int(last["seq"]) + 1, str(last["hash"]))


MAX_FIELD = 256  # characters of a name kept in an entry: a client's huge name must not bloat the log


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return f"{value[:MAX_FIELD]}...({len(value)} characters)"
    return value


class AuditLog:
    """Appends chained entries to a file, continuing its chain; safe across threads and processes (flock).

    After each entry the head file beside the log is replaced by the new head, signed with
    `signer` when given. A log is continued only when its writer can vouch for it
    (`vouch`); AuditError otherwise, and the file is left as it is.
    """

    def __init__(self, path: Path | str, signer: Signer | None = None) -> None:
        self.path = Path(path)
        self.head_path = head_path(self.path)
        self.signer = signer
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        try:
            with self._locked():
                self.vouch()
        except BaseException:
            self._file.close()
            raise

    def vouch(self) -> None:
        """Refuse (AuditError) a log whose chain does not verify, whose end does not match its head file
        (a non-empty log needs one), or whose head is not signed as this writer signs: by the RTI or the
        coordinator of the signer's CA for a writer with a key, not at all for one without. An empty log
        without a head gets one."""
        with self.path.open("rb") as f:  # under this writer's exclusive lock
            chain = _walk_file(self.path, f)
        head = _read_head_file(self.path)
        if head is None:
            if chain.tail.seq:
                raise AuditError(self.path, 0, f"its head file {self.head_path.name} is missing, so entries removed "
                                               "from its end would not show: it is not continued")
            self._write_head(chain.tail)
            return
        _check_end(self.path, chain, self.head_path.name, head)
        if chain.tail.seq == 0:
            return
        if self.signer is None:
            if head.signature is not None:
                raise AuditError(self.path, 0, "its head is signed, and this writer has no key to sign what it "
                                               "appends: it is not continued")
            return
        try:
            cert = head.cert()
        except ValueError:
            cert = None
        if cert is None:
            raise AuditError(self.path, 0, "its head is not signed, and this writer signs: it is not continued")
        if self.signer.ca is not None and not issued_by(cert, self.signer.ca):
            raise AuditError(self.path, 0, f"its head is signed by {_describe(cert)} of another CA (an earlier run's "
                                           "throw-away certificates, or another federation's): it is not continued")
        if signer_role(cert) is None:
            raise AuditError(self.path, 0, f"its head is signed by {_describe(cert)}, which does not keep audit "
                                           "logs: it is not continued")

    def _locked(self) -> Any:
        return _Flock(self._file)

    def _write_head(self, tail: Tail) -> Head:
        head = self.signer.head(tail.seq, tail.prev) if self.signer else Head(tail.seq, tail.prev)
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        # Only ever our own temporary file: a symlink planted in its place is refused, not followed.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(head.to_json(), indent=2) + "\n")
        os.replace(tmp, self.head_path)
        return head

    def record(self, event: str, **fields: Any) -> Head:
        """Append one entry and return the log's new head; `fields` are identities and names, never
        variable values."""
        return self._append(event, fields, sign_before=False)

    def record_signed(self, event: str, **fields: Any) -> Head:
        """`record`, the entry also carrying the signer's signature of the head before it (a run_end does)."""
        return self._append(event, fields, sign_before=True)

    def _append(self, event: str, fields: dict[str, Any], sign_before: bool) -> Head:
        bad = _FORBIDDEN_FIELDS & fields.keys()
        if bad:
            raise ValueError(f"audit entries never carry values (field {sorted(bad)[0]!r})")
        with self._lock, self._locked():
            tail = _last_tail(self.path)
            clipped = {k: _clip(v) for k, v in fields.items()}
            if sign_before and self.signer is not None:
                clipped.update(signature=self.signer.sign(tail.seq, tail.prev), certificate=self.signer.fingerprint)
            entry = {"seq": tail.seq, "ts": time.time(), "event": event, **clipped, "prev": tail.prev}
            entry["hash"] = _digest(entry)
            self._file.write(canonical(entry) + "\n")
            self._file.flush()
            return self._write_head(Tail(tail.seq + 1, entry["hash"]))

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Flock:
    """An exclusive flock on an open file, for one `with`: another process may append to the same log."""

    def __init__(self, f: IO[str]) -> None:
        self.f = f

    def __enter__(self) -> None:
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self.f, fcntl.LOCK_UN)


def rotate(path: Path) -> Path:
    """Move the log at `path` and its head file aside to the first free `NAME.N.SUFFIX` (never replacing a
    file); returns the new path."""
    head = head_path(path)
    for number in range(1, 1_000_000):
        target = path.with_name(f"{path.stem}.{number}{path.suffix}")
        try:
            os.link(path, target)  # fails when the name is taken: nothing is ever replaced
        except FileExistsError:
            continue
        if head.exists():
            try:
                os.link(head, head_path(target))
            except FileExistsError:  # a stray head of that name: leave it, try the next name
                target.unlink()
                continue
            head.unlink()
        path.unlink()
        return target
    raise AuditError(path, 0, "no free name to move it aside to")


def open_continuing(path: Path, signer: Signer | None) -> AuditLog:
    """The log at `path`, continued when its writer can vouch for it (`AuditLog.vouch`), else moved aside
    (`rotate`, with a warning naming both files) and started anew. Nothing is deleted or truncated."""
    try:
        return AuditLog(path, signer)
    except AuditUnreadable:
        raise
    except AuditError as exc:
        moved = rotate(path)
        log.warning("%s cannot be continued (%s); moved it aside to %s and started a new audit log", path,
                    exc.reason, moved.name)
        return AuditLog(path, signer)
