"""Signed routing plans: the RTI signs the plan of a direct federation, and each host checks, before it
routes anything by it, that the RTI of its own federation CA signed exactly these bytes."""

from __future__ import annotations

from cryptography import x509

from federation.errors import RunFailure
from federation.security.audit.signing import Signer, issued_by, signer_role, verify_bytes

_ABOUT = b"federation routing plan\n"  # what the signature is about, so that it signs nothing else


class PlanNotTrusted(RunFailure):
    """A routing plan that its federation's RTI did not sign: a host routes nothing by it."""


def sign_plan(signer: Signer, plan: bytes) -> bytes:
    return signer.sign_bytes(_ABOUT + plan)


def check_plan(plan: bytes, signature: bytes, signer_pem: str, ca_pem: bytes) -> None:
    """PlanNotTrusted saying why, unless `signature` is the signature of `plan` by an RTI certificate of the CA."""
    try:
        cert = x509.load_pem_x509_certificate(signer_pem.encode())
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise PlanNotTrusted(f"the routing plan's signer certificate is not a PEM certificate: {exc}") from None
    if not issued_by(cert, ca):
        raise PlanNotTrusted("the routing plan is signed by a certificate the federation CA did not issue")
    if signer_role(cert) != "the RTI":
        raise PlanNotTrusted("the routing plan is signed by a certificate that is not the RTI's")
    if not verify_bytes(cert, _ABOUT + plan, signature):
        raise PlanNotTrusted("the routing plan's signature does not match its content")
