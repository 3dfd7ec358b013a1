"""Issuing certificates: a new CA with its RTI server certificate and site certificates, or one more site's."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from federation.names import name_problem

from .directory import SITE_URN, CertDir, CertificateError, site_dns_name
from .folders import exists_in, new_folder, open_folder, write_new

log = logging.getLogger(__name__)

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
_VALIDITY = dt.timedelta(days=365)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


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
           names: list[x509.GeneralName], usages: list[x509.ObjectIdentifier], not_before: dt.datetime,
           not_after: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)  # tolerate small clock skew


def init_ca(directory: Path | str, federation: str, sites: Iterable[str],
            hosts: Iterable[str] = ()) -> CertDir:
    """Create the CA, the RTI server certificate (localhost, 127.0.0.1 and `hosts`) and one certificate per site,
    in a new or empty folder (CertificateError naming what it holds otherwise): no file is ever overwritten and
    no symbolic link followed."""
    d = CertDir(Path(directory))
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
    names = [_san(h) for h in dict.fromkeys([*DEFAULT_HOSTS, *hosts])]
    rti, rti_key = _issue(ca, key, _name(federation, "rti"), names, [ExtendedKeyUsageOID.SERVER_AUTH],
                          start, start + _VALIDITY)
    new_folder(d.root)
    root = open_folder(d.root)
    try:
        write_new(root, d.ca_key, _key_pem(key), private=True)
        write_new(root, d.ca_cert, _cert_pem(ca), private=False)
        write_new(root, d.rti_key, _key_pem(rti_key), private=True)
        write_new(root, d.rti_cert, _cert_pem(rti), private=False)
        folder = open_folder(d.root / "sites", root, create=True)
        try:
            for site in sites:
                _write_site(folder, d, ca, key, site, start, start + _VALIDITY)
        finally:
            os.close(folder)
    finally:
        os.close(root)
    log.info("created federation CA for %s in %s (sites: %s)", federation, d.root, ", ".join(sites))
    return d


def issue_site(directory: Path | str, site: str, valid_for: dt.timedelta = _VALIDITY,
               not_before: dt.datetime | None = None) -> Path:
    """Issue `site`'s certificate (client and peer server: see _write_site), signed by the directory's CA; returns its path. A site that has one
    (or a key) is refused, naming the files: delete them first to issue another."""
    _check_site(site)
    d = CertDir(Path(directory))
    root = open_folder(d.root)
    try:
        ca = x509.load_pem_x509_certificate(d.read(d.ca_cert))
        ca_key = serialization.load_pem_private_key(d.read(d.ca_key), None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{d.ca_key} is not an EC private key")
        folder = open_folder(d.root / "sites", root, create=True)
        try:
            there = [str(p) for p in (d.site_key(site), d.site_cert(site)) if exists_in(folder, p)]
            if there:
                raise CertificateError(f"{' and '.join(there)} already exist{'s' * (len(there) == 1)}: delete "
                                       f"{'them' if len(there) > 1 else 'it'} first to issue a new certificate for "
                                       f"site {site!r} (a certificate or key is never overwritten)")
            start = not_before or _now()
            _write_site(folder, d, ca, ca_key, site, start, start + valid_for)
        finally:
            os.close(folder)
    finally:
        os.close(root)
    return d.site_cert(site)


def _write_site(folder: int, d: CertDir, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, site: str,
                not_before: dt.datetime, not_after: dt.datetime) -> None:
    """`site`'s key and certificate, created in the open sites/ `folder`; neither is left without the other.

    The certificate names the site by its URI (what the RTI and peers read as its identity) and serves
    both ends of a TLS connection: as a client of the RTI and of other sites' hosts, and as the server of
    its own host's Peer service (direct routing), which peers verify by `site_dns_name(site)`."""
    federation = ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(SITE_URN + site), x509.DNSName(site_dns_name(site))]
    cert, key = _issue(ca, ca_key, _name(str(federation), site), names,
                       [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH], not_before, not_after)
    write_new(folder, d.site_key(site), _key_pem(key), private=True)
    try:
        write_new(folder, d.site_cert(site), _cert_pem(cert), private=False)
    except CertificateError:
        os.unlink(d.site_key(site).name, dir_fd=folder)  # the key this call created a moment ago
        raise

