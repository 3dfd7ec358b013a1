"""Heads of audit logs and their signatures: who may sign one, signing it, checking a signature."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from federation.names import COORDINATOR_SITE

from ..certs import site_of_cert, site_urn_of
from .entries import canonical

_SIGNED = b"federation audit head\n"  # what a head signature is about, so that it signs nothing else


def _message(entries: int, digest: str) -> bytes:
    return _SIGNED + canonical({"entries": entries, "hash": digest}).encode()


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate (DER), hex: how a run_end entry names its signer's certificate."""
    return cert.fingerprint(hashes.SHA256()).hex()


def signer_role(cert: x509.Certificate) -> str | None:
    """Who a certificate lets sign an audit head: the RTI (a server certificate that names no site) or the
    coordinator site. Site certificates are server certificates too (of their host's Peer service), so
    serving alone does not make the RTI."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([])
    if ExtendedKeyUsageOID.CLIENT_AUTH in usages and site_of_cert(cert) == COORDINATOR_SITE:
        return f"site {COORDINATOR_SITE!r}"
    if ExtendedKeyUsageOID.SERVER_AUTH in usages and site_urn_of(cert) is None:
        return "the RTI"
    return None


def describe(cert: x509.Certificate) -> str:
    """A signer as messages name it: its role, else the site its certificate names."""
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
        """Whether the head carries a signature that its certificate's key made; ValueError as `cert`."""
        cert = self.cert()
        return cert is not None and self.signature is not None and signature_matches(cert, self.signature,
                                                                                      self.entries, self.hash)


def signature_matches(cert: x509.Certificate, signature: str, entries: int, digest: str) -> bool:
    """Whether `signature` (base64) is `cert`'s key's signature of the head (`entries`, `digest`)."""
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

    def __init__(self, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cert: x509.Certificate,
                 ca: x509.Certificate | None) -> None:
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
