"""A federation's certificate authority: CA, RTI server certificate and one client certificate per site."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from federation.names import COORDINATOR_SITE, name_problem

log = logging.getLogger(__name__)

SITE_URN = "urn:federation:site:"
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
_VALIDITY = dt.timedelta(days=365)


class CertificateError(Exception):
    """A certificate directory is missing a file, or a certificate does not say what it must."""


@dataclass(frozen=True)
class CertDir:
    """The files of one federation's certificate directory."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def rti_cert(self) -> Path:
        return self.root / "rti.pem"

    @property
    def rti_key(self) -> Path:
        return self.root / "rti.key"

    def site_cert(self, site: str) -> Path:
        return self.root / "sites" / f"{site}.pem"

    def site_key(self, site: str) -> Path:
        return self.root / "sites" / f"{site}.key"

    def read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CertificateError(f"{path}: cannot read ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class SiteCredentials:
    """What a site's client needs: the CA to trust and its own certificate and key (PEM bytes)."""

    site: str
    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def load(cls, directory: Path | str, site: str) -> SiteCredentials:
        """Load `site`'s credentials; the certificate must name that site (CertificateError otherwise)."""
        d = CertDir(Path(directory))
        cert = d.read(d.site_cert(site))
        named = site_of_pem(cert)
        if named != site:
            raise CertificateError(f"{d.site_cert(site)} is the certificate of site {named!r}, not of {site!r}")
        return cls(site, d.read(d.ca_cert), cert, d.read(d.site_key(site)))


# -------------------------------------------------------------------------------------------------- issuing

def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, data: bytes, private: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if private:
        os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(federation: str, common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, federation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _check_site(site: str) -> None:
    problem = name_problem("site name", site)
    if problem is not None:
        raise CertificateError(problem)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _issue(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, subject: x509.Name,
           names: list[x509.GeneralName], usage: x509.ObjectIdentifier, not_before: dt.datetime,
           not_after: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)  # tolerate small clock skew


def init_ca(directory: Path | str, federation: str, sites: Iterable[str],
            hosts: Iterable[str] = ()) -> CertDir:
    """Create the CA, the RTI server certificate (localhost, 127.0.0.1 and `hosts`) and one certificate per site."""
    d = CertDir(Path(directory))
    if d.ca_key.exists():
        raise CertificateError(f"{d.ca_key} already exists: a federation CA is never overwritten")
    sites = list(dict.fromkeys(sites))
    for site in sites:
        _check_site(site)
    problem = name_problem("federation name", federation)  # it names the CA's organization
    if problem is not None:
        raise CertificateError(problem)
    key = _key()
    # The organization names the federation; a common name holds at most 64 characters, as the name may.
    subject = _name(federation, "federation CA")
    start = _now()
    ca = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + _VALIDITY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(key, hashes.SHA256()))
    _write(d.ca_key, _key_pem(key), private=True)
    _write(d.ca_cert, _cert_pem(ca), private=False)
    names = [_san(h) for h in dict.fromkeys([*DEFAULT_HOSTS, *hosts])]
    rti, rti_key = _issue(ca, key, _name(federation, "rti"), names, ExtendedKeyUsageOID.SERVER_AUTH,
                          start, start + _VALIDITY)
    _write(d.rti_key, _key_pem(rti_key), private=True)
    _write(d.rti_cert, _cert_pem(rti), private=False)
    for site in sites:
        issue_site(d.root, site)
    log.info("created federation CA for %s in %s (sites: %s)", federation, d.root, ", ".join(sites))
    return d


def issue_site(directory: Path | str, site: str, valid_for: dt.timedelta = _VALIDITY,
               not_before: dt.datetime | None = None) -> Path:
    """Issue (or re-issue) `site`'s client certificate, signed by the directory's CA; returns its path."""
    _check_site(site)
    d = CertDir(Path(directory))
    ca = x509.load_pem_x509_certificate(d.read(d.ca_cert))
    ca_key = serialization.load_pem_private_key(d.read(d.ca_key), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{d.ca_key} is not an EC private key")
    federation = ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    start = not_before or _now()
    cert, key = _issue(ca, ca_key, _name(str(federation), site), [x509.UniformResourceIdentifier(SITE_URN + site)],
                       ExtendedKeyUsageOID.CLIENT_AUTH, start, start + valid_for)
    _write(d.site_key(site), _key_pem(key), private=True)
    _write(d.site_cert(site), _cert_pem(cert), private=False)
    return d.site_cert(site)


# ------------------------------------------------------------------------------------------------ identity

def site_of_cert(cert: x509.Certificate) -> str | None:
    """The site a client certificate names: its `urn:federation:site:` URI, else its common name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.startswith(SITE_URN):
                return uri[len(SITE_URN):]
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def site_of_pem(pem: bytes) -> str | None:
    try:
        return site_of_cert(x509.load_pem_x509_certificate(pem))
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None


# ------------------------------------------------------------------------------------------------- throw-away

@contextmanager
def throwaway(federation: str, sites: Iterable[str], hosts: Iterable[str] = ()) -> Iterator[CertDir]:
    """A fresh CA and certificates in a private temporary directory, deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="federation-certs-"))
    try:
        yield init_ca(root / "certs", federation, sites, hosts)
    finally:
        shutil.rmtree(root, ignore_errors=True)
