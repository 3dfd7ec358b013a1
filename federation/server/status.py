"""Reading an RTI's status over its admin service, as `federation rti status` shows it: plain values out,
the protocol stays here."""

from __future__ import annotations

import grpc

from federation.errors import CarriesFields, RunFailure
from federation.protocol import pb, pb_grpc
from federation.security.certs import SiteCredentials
from federation.security.tls import identity_metadata, open_channel

from federation.server.federations import FederationStatus
from federation.server.wire import status_from_pb


class Unreachable(CarriesFields, RunFailure):
    """An admin call failed; `code` is the gRPC status name (UNAVAILABLE: nothing answered, or in the other TLS mode)."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code, self.details = code, details


class StatusReader:
    """Admin calls to the RTI at `rti` as `site` (over mutual TLS with `creds`, else claiming `site`)."""

    def __init__(self, rti: str, creds: SiteCredentials | None, site: str, timeout: float = 5.0) -> None:
        self._channel = open_channel(rti, creds)
        self._admin = pb_grpc.AdminStub(self._channel)
        self._who = identity_metadata(site, creds)
        self._timeout = timeout

    def read(self, federation: str | None = None) -> list[FederationStatus]:
        """The status of `federation`, or of every federation this site may see, sorted by name."""
        try:
            names = [federation] if federation else list(self._admin.ListFederations(
                pb.ListFederationsRequest(), timeout=self._timeout, metadata=self._who).names)
            return [status_from_pb(self._admin.InspectFederation(
                pb.FederationRef(name=name), timeout=self._timeout, metadata=self._who)) for name in names]
        except grpc.RpcError as exc:
            raise Unreachable(exc.code().name, exc.details()) from None

    def close(self) -> None:
        self._channel.close()
