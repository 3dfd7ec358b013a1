"""What the RTI service asks before acting: identity (certificate or, insecure only, a claim), policy, audit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from federation.protocol import pb

from .audit import AuditLog, Signer
from .policy import Decision, PermissionDenied, Policy
from .tls import claimed_site, peer_site

log = logging.getLogger(__name__)

# Session requests worth an audit entry once applied (never "step": it carries values).
AUDITED = frozenset({"join", "declare", "resign", "register_object"})
_DECLARE_KINDS = {pb.Declare.PUBLISH_OBJECT: "publish", pb.Declare.SUBSCRIBE_OBJECT: "subscribe",
                  pb.Declare.PUBLISH_INTERACTION: "publish_interaction",
                  pb.Declare.SUBSCRIBE_INTERACTION: "subscribe_interaction"}


class Impersonation(PermissionDenied):
    """A client claims a site its certificate does not name."""


class Guard:
    """Authenticates callers and enforces the policy for one RTI service; audits every decision that matters.

    With `tls`, a caller's site is the one in its verified client certificate. Without TLS
    (insecure mode) the site is whatever the caller claims. Without a policy every
    authenticated request is allowed (an open RTI, as before policies existed).
    """

    def __init__(self, policy: Policy | None = None, audit: AuditLog | None = None, tls: bool = False,
                 signer: Signer | None = None) -> None:
        """`signer`: the RTI's key, which signs audit heads and routing plans (under TLS)."""
        self.policy, self.audit, self.tls, self.signer = policy, audit, tls, signer

    def record(self, event: str, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.record(event, **fields)

    def _decide(self, decision: Decision | None, event: str, **fields: Any) -> None:
        if decision is None or decision.allowed:
            return
        log.warning("denied %s %s: %s (rule %s)", event, fields, decision.reason, decision.rule)
        self.record("denied", request=event, rule=decision.rule, reason=decision.reason, **fields)
        decision.check()

    # ---------------------------------------------------------------- session
    def session_site(self, context: Any, claimed: str, federation: str, peer: str) -> str:
        """The site of a session opening with Hello{federation, site=claimed}; Impersonation if it lies."""
        if not self.tls:
            return claimed
        certified = peer_site(context)
        if certified != claimed:
            reason = (f"hello claims site {claimed!r} but the client certificate is for site {certified!r}")
            log.warning("denied session from %s: %s", peer, reason)
            self.record("denied", request="hello", rule="certificate", reason=reason, federation=federation,
                        site=certified or "", peer=peer)
            raise Impersonation(f"denied by rule certificate: {reason}")
        return claimed

    def authorize_session(self, context: Any, claimed: str, federation: str, peer: str) -> str:
        """The site of a session opening on `federation`, once the policy grants it some right there."""
        site = self.session_site(context, claimed, federation, peer)
        decision = self.policy.may_enter(site, federation) if self.policy else None
        self._decide(decision, "hello", federation=federation, site=site, peer=peer)
        return site

    def authorize_join(self, federation: str, site: str, federate: str) -> None:
        decision = self.policy.may_join(site, federation, federate) if self.policy else None
        self._decide(decision, "join", federation=federation, site=site, federate=federate)

    def authorize_end(self, federation: str, site: str) -> None:
        """Only a site that administers the federation (its coordinator) may say that its run ended."""
        if self.policy is not None:
            self._decide(self.policy.may_admin(site, federation), "end", federation=federation, site=site)

    def authorize_declare(self, federation: str, site: str, federate: str, kind: int, class_name: str,
                          members: list[str]) -> None:
        p = self.policy
        if p is None:
            return
        what = _DECLARE_KINDS.get(kind)
        if what == "publish":
            decision = p.may_publish(federation, federate, class_name, members)
        elif what == "subscribe":
            decision = p.may_subscribe(federation, federate, class_name, members)
        elif what == "publish_interaction":
            decision = p.may_publish_interaction(federation, federate, class_name)
        elif what == "subscribe_interaction":
            decision = p.may_subscribe_interaction(federation, federate, class_name)
        else:
            return  # an undefined kind: the service reports it
        self._decide(decision, f"declare {what}", federation=federation, site=site, federate=federate,
                     class_name=class_name, members=list(members))

    def applied(self, kind: str, federation: str, site: str, body: Any, reply: dict[str, Any],
                names: Mapping[int, str]) -> None:
        """Audit a session request the RTI carried out (names and handles only)."""
        if self.audit is None:
            return
        federate = body.federate_name if kind == "join" else names.get(body.federate, "")
        fields: dict[str, Any] = {"federation": federation, "site": site, "federate": federate}
        if kind == "join":
            fields["handle"] = reply["joined"].federate
        elif kind == "declare":
            fields.update(declaration=_DECLARE_KINDS.get(body.kind, str(body.kind)), class_name=body.class_name,
                          members=list(body.members))
        elif kind == "register_object":
            fields.update(class_name=body.class_name, object_name=body.object_name)
        self.record(kind, **fields)

    # ------------------------------------------------------------------ admin
    def admin_site(self, context: Any) -> str:
        """The caller of an admin RPC: its certificate's site, or (insecure mode) its metadata claim."""
        if self.tls:
            return peer_site(context) or ""
        return claimed_site(context)

    def authorize_admin(self, context: Any, action: str, federation: str) -> str:
        """Check an admin action on a federation; returns the caller's site, raises PermissionDenied."""
        site = self.admin_site(context)
        if self.policy is not None:
            decide = self.policy.may_create if action == "create" else self.policy.may_admin
            self._decide(decide(site, federation), action, federation=federation, site=site)
        return site

    def visible(self, context: Any, names: list[str]) -> list[str]:
        """The federations an admin caller may see listed."""
        if self.policy is None:
            return names
        return self.policy.visible(self.admin_site(context), names)
