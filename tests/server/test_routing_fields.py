"""CreateFederation's routing and relay sites reach the federation's state on a live server (what direct
routing reads there); a routing the server does not know, or a relay site no name could be, is refused, naming it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_to_pb
from federation.rti import FOM
from federation.server.limits import Limits
from federation.server.serving import serve


@pytest.fixture(scope="module")
def rti() -> Iterator[tuple[Any, Any]]:
    """A live server's admin stub and its service (whose federations' state the tests read)."""
    server, port, service = serve("127.0.0.1:0", Limits())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield pb_grpc.AdminStub(channel), service
    finally:
        channel.close()
        service.stop()
        server.stop(0)


def create(admin: Any, name: str, **kw: Any) -> Any:
    return admin.CreateFederation(pb.CreateFederationRequest(
        protocol_version=PROTOCOL_VERSION, name=name, fom=fom_to_pb(FOM({"Ball": ["x"]}, {})), **kw), timeout=5)


@pytest.mark.parametrize(("name", "kw", "routing", "relay"), [
    ("older", {}, "relay", frozenset()),  # a coordinator from before the fields: relay, as every run was then
    ("relayed", {"routing": "relay"}, "relay", frozenset()),
    ("direct", {"routing": "direct", "relay_sites": ["b_site.eu", "c"]}, "direct", frozenset({"b_site.eu", "c"})),
])
def test_the_federation_keeps_its_routing_and_relay_sites(rti: tuple[Any, Any], name: str, kw: dict[str, Any],
                                                          routing: str, relay: frozenset[str]) -> None:
    admin, service = rti
    create(admin, name, **kw)
    state = service.federations[name]
    assert (state.routing, state.relay_sites) == (routing, relay)


@pytest.mark.parametrize(("kw", "fragment"), [
    ({"routing": "peer-to-peer"}, "routing 'peer-to-peer' is not one of relay, direct"),
    ({"routing": "Direct"}, "routing 'Direct' is not one of relay, direct"),
    ({"routing": "direct", "relay_sites": ["a", ""]}, "relay site is empty"),
    ({"routing": "direct", "relay_sites": ["a\nb"]}, "relay site 'a\\nb' contains the unprintable character"),
])
def test_an_unknown_routing_is_refused_naming_it(rti: tuple[Any, Any], kw: dict[str, Any], fragment: str) -> None:
    admin, service = rti
    with pytest.raises(grpc.RpcError) as info:
        create(admin, "bad-routing", **kw)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in info.value.details(), \
        info.value.details()
    assert "bad-routing" not in service.federations
