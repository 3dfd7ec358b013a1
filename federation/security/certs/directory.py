"""A certificate directory's files, what a site loads from it, and the site a certificate names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from federation.errors import ConfigurationError

SITE_URN = "urn:federation:site:"


class CertificateError(ConfigurationError):
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
    """The site a PEM client certificate names (`site_of_cert`); CertificateError when it is not one."""
    try:
        return site_of_cert(x509.load_pem_x509_certificate(pem))
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None

