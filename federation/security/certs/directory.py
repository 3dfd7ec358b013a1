"""A certificate directory's files, what a site loads from it, and the site a certificate names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from federation.errors import ConfigurationError

SITE_URN = "urn:federation:site:"
SITE_DNS_SUFFIX = ".site.federation.invalid"
_DNS_LABEL = 60  # hex digits per label (a DNS label holds at most 63 characters)


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
    path: Path | None = field(default=None, compare=False)  # the certificate's file, when loaded from one

    @classmethod
    def load(cls, directory: Path | str, site: str) -> SiteCredentials:
        """Load `site`'s credentials; the certificate must name that site (CertificateError otherwise)."""
        d = CertDir(Path(directory))
        cert = d.read(d.site_cert(site))
        named = site_of_pem(cert)
        if named != site:
            raise CertificateError(f"{d.site_cert(site)} is the certificate of site {named!r}, not of {site!r}")
        return cls(site, d.read(d.ca_cert), cert, d.read(d.site_key(site)), d.site_cert(site))


def site_dns_name(site: str) -> str:
    """The DNS name a site's certificate carries, by which another site's host verifies that it reached
    this site's Peer service (direct routing) whatever address it dialled.

    A site name may hold '_' and '.' (federation.names), which a DNS name cannot carry as such, and
    DNS names ignore case, which site names do not; so the name is the hex of the site's UTF-8 bytes,
    split into labels of at most 60 digits (a label holds 63), under `.site.federation.invalid`. The
    top-level domain `.invalid` (RFC 6761) never resolves: no certificate of a site can pass for a real
    host name a client dials (the RTI's), and peers only ever match it through gRPC's target name
    override (federation.security.tls.peer_channel_options).
    """
    digits = site.encode().hex()
    return ".".join(digits[i:i + _DNS_LABEL] for i in range(0, len(digits), _DNS_LABEL)) + SITE_DNS_SUFFIX


def site_urn_of(cert: x509.Certificate) -> str | None:
    """The site a certificate names by its `urn:federation:site:` URI (every site certificate has one; the
    RTI's has none), or None."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(SITE_URN):
            return uri[len(SITE_URN):]
    return None


def site_of_cert(cert: x509.Certificate) -> str | None:
    """The site a client certificate names: its `urn:federation:site:` URI, else its common name."""
    site = site_urn_of(cert)
    if site is not None:
        return site
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def site_of_pem(pem: bytes) -> str | None:
    """The site a PEM client certificate names (`site_of_cert`); CertificateError when it is not one."""
    try:
        return site_of_cert(x509.load_pem_x509_certificate(pem))
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None

