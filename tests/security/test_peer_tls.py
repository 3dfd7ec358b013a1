"""Site certificates serve a host's Peer service (direct routing): mTLS between two sites' hosts, each side
proving its site, whatever address is dialled; a certificate issued before direct routing is named, with the way out."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from federation.security.audit.signing import signer_role
from federation.security.certs import (SITE_URN, CertDir, CertificateError, SiteCredentials, init_ca, issue_site,
                                       site_dns_name)
from federation.security.tls import (channel_credentials, check_peer_capable, peer_channel_options,
                                     peer_server_credentials, peer_site)

A, B = "acme_energy.eu", "b-site"  # '_' and '.' are site-name characters no DNS name holds
METHOD = "/test.Peer/Who"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_ca(tmp_path_factory.mktemp("peer") / "certs", "peers", [A, B, "coordinator"]).root


def serve(creds: SiteCredentials) -> tuple[grpc.Server, int]:
    """A real gRPC server with the site's Peer credentials; its one method answers with the caller's site and its own."""
    def who(request: bytes, context: Any) -> bytes:
        return f"{peer_site(context)}->{creds.site}".encode()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "test.Peer", {"Who": grpc.unary_unary_rpc_method_handler(who)})])
    port = server.add_secure_port("127.0.0.1:0", peer_server_credentials(creds))
    server.start()
    return server, port


@pytest.fixture()
def servers(certs: Path) -> Iterator[dict[str, int]]:
    started = {site: serve(SiteCredentials.load(certs, site)) for site in (A, B)}
    yield {site: port for site, (_, port) in started.items()}
    for server, _ in started.values():
        server.stop(0)


def call(port: int, expected_site: str, credentials: grpc.ChannelCredentials) -> str:
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, peer_channel_options(expected_site)) as channel:
        return bytes(channel.unary_unary(METHOD)(b"", timeout=5)).decode()


def test_a_host_reaches_the_site_it_dials_and_each_side_knows_the_other(certs: Path,
                                                                           servers: dict[str, int]) -> None:
    a, b = SiteCredentials.load(certs, A), SiteCredentials.load(certs, B)
    assert call(servers[B], B, channel_credentials(a)) == f"{A}->{B}"
    assert call(servers[A], A, channel_credentials(b)) == f"{B}->{A}"


def test_a_host_expecting_site_b_that_reaches_site_a_fails_the_handshake(certs: Path,
                                                                         servers: dict[str, int]) -> None:
    b = SiteCredentials.load(certs, B)
    with pytest.raises(grpc.RpcError) as caught:
        call(servers[A], B, channel_credentials(b))  # B's address was A's: a proxy, a stale plan
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_without_a_certificate_is_refused(certs: Path, servers: dict[str, int]) -> None:
    anonymous = grpc.ssl_channel_credentials(root_certificates=CertDir(certs).read(CertDir(certs).ca_cert))
    with pytest.raises(grpc.RpcError) as caught:
        call(servers[B], B, anonymous)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_of_another_ca_is_refused(certs: Path, servers: dict[str, int], tmp_path: Path) -> None:
    other = SiteCredentials.load(init_ca(tmp_path / "other", "peers", [A]).root, A)
    stranger = grpc.ssl_channel_credentials(root_certificates=CertDir(certs).read(CertDir(certs).ca_cert),
                                            private_key=other.key, certificate_chain=other.cert)
    with pytest.raises(grpc.RpcError):
        call(servers[B], B, stranger)


def test_site_dns_names_are_dns_names_one_per_site() -> None:
    names = ["a", "A", "a_b", "a.b", "a-b", "0", "x" * 64, "_." + "Z" * 62]
    dns = [site_dns_name(n) for n in names]
    assert len(set(dns)) == len(names)  # case and '_' / '.' / '-' all kept apart
    for name in dns:
        assert len(name) <= 253 and name.endswith(".site.federation.invalid")
        assert all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", label) for label in name.split("."))


def test_site_certificates_serve_and_name_their_site_and_do_not_pass_for_the_rti(certs: Path,
                                                                                 tmp_path: Path) -> None:
    d = CertDir(certs)
    issued = SiteCredentials.load(certs, issue_site(certs, "late_comer.x").stem)  # `certs issue` too
    for creds in (SiteCredentials.load(certs, A), issued):
        check_peer_capable(creds)
        cert = x509.load_pem_x509_certificate(creds.cert)
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH}
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == [site_dns_name(creds.site)]
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [SITE_URN + creds.site]
        assert signer_role(cert) is None  # serving does not make a site the RTI (audit heads)
    assert signer_role(x509.load_pem_x509_certificate(d.read(d.rti_cert))) == "the RTI"
    assert signer_role(x509.load_pem_x509_certificate(d.read(d.site_cert("coordinator")))) == "site 'coordinator'"


def old_style(certs: Path, site: str, folder: Path) -> SiteCredentials:
    """A site certificate as issued before direct routing: client usage and the site's URI only."""
    d = CertDir(certs)
    ca = x509.load_pem_x509_certificate(d.read(d.ca_cert))
    ca_key = serialization.load_pem_private_key(d.read(d.ca_key), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, site)]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(SITE_URN + site)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "sites").mkdir(parents=True)
    (folder / "sites" / f"{site}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "sites" / f"{site}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "ca.pem").write_bytes(d.read(d.ca_cert))
    return SiteCredentials.load(folder, site)


def test_a_certificate_issued_before_direct_routing_is_named_with_the_way_out(certs: Path, tmp_path: Path) -> None:
    creds = old_style(certs, A, tmp_path / "old")
    with pytest.raises(CertificateError) as caught:
        check_peer_capable(creds)
    said = str(caught.value)
    assert f"{tmp_path / 'old' / 'sites' / f'{A}.pem'} (site {A!r})" in said
    assert "serverAuth" in said and site_dns_name(A) in said
    assert f"federation certs issue {tmp_path / 'old'} --site {A}" in said and "--routing relay" in said
    # Without its file (credentials built in memory), the message names the site.
    with pytest.raises(CertificateError, match=f"the certificate of site {A!r} cannot serve"):
        check_peer_capable(SiteCredentials(A, creds.ca, creds.cert, creds.key))
    # It still works as a client (of the RTI, of a peer): only serving needs the new certificate.
    server, port = serve(SiteCredentials.load(certs, B))
    try:
        assert call(port, B, channel_credentials(creds)) == f"{A}->{B}"
    finally:
        server.stop(0)
