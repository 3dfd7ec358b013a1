"""gRPC credentials from a certificate directory, and the peer's site taken from its client certificate.

The RTI serves with its own certificate (`server_credentials`); with direct routing each site's host serves
its Peer service with the site's certificate (`peer_server_credentials`), and a host dialling another
site's host checks that certificate by the site's DNS name (`peer_channel_options`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from .certs import CertDir, CertificateError, SiteCredentials, site_dns_name, site_of_pem

# Without TLS (insecure mode only) admin calls say who they are in this metadata key.
SITE_METADATA = "x-federation-site"


def server_credentials(directory: Path | str) -> grpc.ServerCredentials:
    """mTLS for the RTI: its own certificate, and client certificates required and checked against the CA."""
    d = CertDir(Path(directory))
    return grpc.ssl_server_credentials([(d.read(d.rti_key), d.read(d.rti_cert))],
                                       root_certificates=d.read(d.ca_cert), require_client_auth=True)


def channel_credentials(creds: SiteCredentials) -> grpc.ChannelCredentials:
    """mTLS for a site's client: trust only the federation CA, present the site's certificate."""
    return grpc.ssl_channel_credentials(root_certificates=creds.ca, private_key=creds.key,
                                        certificate_chain=creds.cert)


def peer_server_credentials(creds: SiteCredentials) -> grpc.ServerCredentials:
    """mTLS for a host's Peer service: the site's own certificate, client certificates required and checked
    against the federation CA (the caller's site is then `peer_site`). See `check_peer_capable` first."""
    return grpc.ssl_server_credentials([(creds.key, creds.cert)], root_certificates=creds.ca,
                                       require_client_auth=True)


# Like the RTI connection's (federation.transport.grpc): a dead or cut-off peer shows within seconds.
_KEEPALIVE: list[tuple[str, Any]] = [("grpc.keepalive_time_ms", 2000), ("grpc.keepalive_timeout_ms", 2000),
                                     ("grpc.keepalive_permit_without_calls", 1)]


def peer_channel_options(site: str) -> list[tuple[str, Any]]:
    """Channel options for dialling `site`'s Peer service: whatever address is dialled (an IP, a proxy), the
    server must present `site`'s certificate (its `site_dns_name`), and keepalive pings find a lost peer."""
    return [("grpc.ssl_target_name_override", site_dns_name(site)), *_KEEPALIVE]


def check_peer_capable(creds: SiteCredentials) -> None:
    """CertificateError, naming the certificate (its file, else its site), when the site's certificate cannot
    serve a Peer service: issued before direct routing, it lacks the server usage or the site's DNS name."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    what = f"{creds.path} (site {creds.site!r})" if creds.path is not None else f"the certificate of site {creds.site!r}"
    try:
        cert = x509.load_pem_x509_certificate(creds.cert)
    except ValueError as exc:
        raise CertificateError(f"{what} is not a PEM certificate: {exc}") from None
    lacks = []
    try:
        usages = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        usages = []
    if ExtendedKeyUsageOID.SERVER_AUTH not in usages:
        lacks.append("the server usage (serverAuth)")
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if site_dns_name(creds.site) not in names:
        lacks.append(f"the DNS name {site_dns_name(creds.site)}")
    if lacks:
        folder = creds.path.parent.parent if creds.path is not None else Path("DIR")
        raise CertificateError(
            f"{what} cannot serve direct routing's peer connections: it lacks {' and '.join(lacks)} (it was issued "
            f"before direct routing). Reissue it: delete sites/{creds.site}.pem and sites/{creds.site}.key, then "
            f"`federation certs issue {folder} --site {creds.site}`; or run with --routing relay (or this site's "
            "host with --no-listen: its channels then go through the RTI)")


def open_channel(target: str, creds: SiteCredentials | None, options: list[tuple[str, Any]] | None = None) -> grpc.Channel:
    """A channel to the RTI: mTLS with `creds`, else plain (insecure mode)."""
    if creds is None:
        return grpc.insecure_channel(target, options)
    return grpc.secure_channel(target, channel_credentials(creds), options)


def is_loopback(host: str) -> bool:
    """Whether a listen host is on this machine only (127.0.0.0/8, ::1, localhost); '' and 0.0.0.0 are every interface."""
    import ipaddress

    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


def identity_metadata(site: str, creds: SiteCredentials | None) -> tuple[tuple[str, str], ...]:
    """Admin-call metadata: the claimed site, needed (and trusted) only without TLS."""
    return () if creds is not None else ((SITE_METADATA, site),)


def peer_site(context: Any) -> str | None:
    """The site named by the peer's verified client certificate; None on a plaintext connection."""
    auth = context.auth_context() or {}
    pems = auth.get("x509_pem_cert")
    if not pems:
        return None
    try:
        return site_of_pem(pems[0])
    except CertificateError:
        return None


def claimed_site(context: Any) -> str:
    """The site an insecure admin caller claims in its metadata ('' if none)."""
    for key, value in context.invocation_metadata() or ():
        if key == SITE_METADATA:
            return str(value)
    return ""



def tls_mismatch(target: str, with_tls: bool) -> str | None:
    """Why the RTI at `target` cannot be talked to with (or without) TLS; None when it can, or is not up."""
    tls = speaks_tls(target)
    if tls and not with_tls:
        return f"the RTI at {target} requires TLS: pass --tls DIR (a certificate directory with ca.pem and sites/<site>.pem, .key)"
    if tls is False and with_tls:
        return f"the RTI at {target} does not speak TLS (it serves without --tls): drop --tls, or serve it with --tls"
    return None


def speaks_tls(target: str, timeout: float = 3.0) -> bool | None:
    """Whether the server at HOST:PORT answers a TLS handshake (an RTI serving with --tls): True if it
    does, False if it answers in plaintext, None if it cannot be reached.

    A plaintext gRPC client of a TLS server only learns "Socket closed", and a TLS client of a
    plaintext one waits out its deadline; this tells them apart. Nothing is verified and nothing
    is sent beyond the handshake: a reply of any kind from TLS is enough.
    """
    import socket
    import ssl

    host, _, port = target.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    except (OSError, ValueError):
        return None
    try:
        with context.wrap_socket(sock):
            return True
    except ssl.SSLError as exc:
        # An alert (say, "certificate required") is TLS refusing us; a plaintext server answers
        # with bytes that are no TLS record ("wrong version number", "record layer failure").
        return "ALERT" in str(exc.reason or "").upper()
    except OSError:  # closed on us: not TLS
        return False
    finally:
        sock.close()
