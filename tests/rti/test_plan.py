"""The routing plan of a direct federation (federation/rti/plan.py): its routes, its bytes, its refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Callable

import pytest

from federation.rti.plan import PLAN_VERSION, PlanError, RoutingPlan, describe_site, plan_of

from .conftest import Small

ENDPOINTS = {"A": "a.example:7001", "B": "b.example:7002", "C": ""}
X, Y = 0, 1  # Src's attributes (z, 2, is published by nobody)
HIT, PING, PONG = 0, 1, 2
DST, SRC = 0, 1  # object classes


def make(small: Small) -> RoutingPlan:
    return plan_of(small.fx, small.sites, ENDPOINTS, frozenset({"C"}))


def test_the_plan_routes_what_owners_publish_to_who_subscribes_it(small: Small) -> None:
    plan = make(small)
    assert plan.federation == "small"
    f = plan.federates
    assert {h: (p.name, p.site) for h, p in f.items()} == {
        small.src: ("src", "A"), small.dst: ("dst", "B"), small.peer: ("peer", "A"), small.lone: ("lone", "C")}
    assert (f[small.src].lookahead, f[small.src].constrained) == (2, True)
    assert (f[small.peer].lookahead, f[small.peer].constrained) == (None, True)
    assert (f[small.lone].lookahead, f[small.lone].constrained) == (3, False)
    src_o, dst_o = plan.objects[small.src_o], plan.objects[small.dst_o]
    assert (src_o.owner, src_o.class_handle, src_o.attributes) == (small.src, SRC, frozenset({X, Y}))
    # dst subscribes x and z but src publishes no z; peer gets y; lone, subscribed to z only, gets nothing
    assert src_o.routes == ((small.dst, frozenset({X})), (small.peer, frozenset({Y})))
    assert (dst_o.owner, dst_o.class_handle, dst_o.attributes, dst_o.routes) == (
        small.dst, DST, frozenset({X}), ((small.src, frozenset({X})),))
    assert {c: (i.publishers, i.subscribers) for c, i in plan.interactions.items()} == {
        HIT: (frozenset({small.src}), ()),
        PING: (frozenset({small.src}), (small.dst, small.peer)),
        PONG: (frozenset({small.dst}), (small.src,)),
    }
    assert plan.receivers == {small.src: {small.dst, small.peer}, small.dst: {small.src}, small.peer: set(),
                              small.lone: set()}
    # only time-regulating senders are waited for
    assert plan.senders == {small.src: {small.dst}, small.dst: {small.src}, small.peer: {small.src}, small.lone: set()}
    assert plan.on_site("A") == [small.src, small.peer] and plan.on_site("D") == []
    assert describe_site(plan, "A") == "site 'A' (src, peer)" and describe_site(plan, "D") == "site 'D' (no federate)"


def test_the_plan_keeps_each_members_time(small: Small) -> None:
    small.fx.time_advance_request(small.lone, 7)  # lone is not constrained: granted at once
    assert make(small).federates[small.lone].time == 7


def test_an_unsubscribed_member_is_routed_nothing(small: Small) -> None:
    small.fx.unsubscribe_object_class(small.peer, "Src")
    plan = make(small)
    assert plan.objects[small.src_o].routes == ((small.dst, frozenset({X})),)
    assert plan.receivers[small.src] == {small.dst, small.peer}  # still Ping


def test_a_member_without_a_site_is_refused(small: Small) -> None:
    sites = small.sites
    del sites[small.lone]
    with pytest.raises(PlanError, match="'lone'"):
        plan_of(small.fx, sites, ENDPOINTS)


def test_out_sites_are_the_other_sites_a_member_sends_to(small: Small) -> None:
    plan = make(small)
    assert plan.out_sites(small.src) == {"B"}  # peer, at A too, is not another site
    assert plan.out_sites(small.dst) == {"A"}
    assert plan.out_sites(small.peer) == frozenset() and plan.out_sites(small.lone) == frozenset()
    together = plan_of(small.fx, {h: "A" for h in small.sites}, ENDPOINTS)
    assert all(together.out_sites(h) == frozenset() for h in small.sites)


def test_a_channel_is_relayed_when_either_end_is_a_relay_site_or_the_receiver_accepts_no_connection(
        small: Small) -> None:
    plan = replace(make(small), endpoints={"A": "a.example:7001", "B": "", "C": "c.example:7003"})
    assert not plan.relayed("B", "A")  # A accepts connections; neither is a relay site
    assert plan.relayed("A", "B")  # B accepts none
    assert plan.relayed("A", "C") and plan.relayed("C", "A")  # C is a relay site, whatever its endpoint
    assert plan.relayed("A", "D")  # a site the plan gives no endpoint


# ------------------------------------------------------------------ bytes
def test_the_same_plan_is_the_same_canonical_bytes(small: Small) -> None:
    plan = make(small)
    raw = plan.to_json()
    assert make(small).to_json() == raw
    doc = json.loads(raw)
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()  # sorted keys, no spaces
    assert doc["version"] == PLAN_VERSION
    # built in another order, it is still the same bytes
    shuffled = RoutingPlan(plan.federation, dict(reversed(list(plan.federates.items()))),
                           dict(reversed(list(plan.objects.items()))), dict(reversed(list(plan.interactions.items()))),
                           dict(reversed(list(plan.endpoints.items()))), frozenset(reversed(sorted(plan.relay_sites))))
    assert shuffled == plan and shuffled.to_json() == raw and shuffled.digest == plan.digest


def test_the_bytes_round_trip(small: Small) -> None:
    plan = make(small)
    back = RoutingPlan.from_json(plan.to_json())
    assert back == plan
    assert back.to_json() == plan.to_json() and back.digest == plan.digest
    assert back.receivers == plan.receivers and back.senders == plan.senders


def test_a_different_plan_is_different_bytes(small: Small) -> None:
    plan = make(small)
    moved = plan_of(small.fx, {**small.sites, small.peer: "B"}, ENDPOINTS, frozenset({"C"}))
    assert moved.to_json() != plan.to_json() and moved.digest != plan.digest


def edit(plan: RoutingPlan, change: Callable[[dict[str, Any]], object]) -> bytes:
    doc = json.loads(plan.to_json())
    change(doc)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d.update(version=2), "version 2 is not 1"),
    (lambda d: d.pop("version"), "version None is not 1"),
    (lambda d: d.pop("federates"), "malformed: KeyError: 'federates'"),
    (lambda d: d["federates"]["1"].pop("site"), "malformed: KeyError: 'site'"),
    (lambda d: d["federates"]["1"].update(time="soon"), "malformed: ValueError"),
    (lambda d: d["objects"]["1"].update(routes=[[2]]), "malformed: ValueError"),
    (lambda d: d["interactions"].update({"9": {"publishers": 1, "subscribers": []}}), "malformed: TypeError"),
    (lambda d: d["federates"].update({"x": d["federates"]["1"]}), "malformed: ValueError"),
    (lambda d: d["objects"]["1"].update(owner=9), "routes object 1 to or from an unknown federate"),
    (lambda d: d["objects"]["1"]["routes"].append([9, [0]]), "routes object 1 to or from an unknown federate"),
    (lambda d: d["interactions"]["1"]["subscribers"].append(9),
     "routes interaction class 1 to or from an unknown federate"),
    (lambda d: d["interactions"]["2"].update(publishers=[9]),
     "routes interaction class 2 to or from an unknown federate"),
])
def test_a_malformed_plan_is_refused_saying_what_is_wrong(small: Small, change: Callable[[dict[str, Any]], object],
                                                          says: str) -> None:
    with pytest.raises(PlanError, match="routing plan") as caught:
        RoutingPlan.from_json(edit(make(small), change))
    assert says in str(caught.value)


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe", b"[]", b"null", b'"plan"', b"7"])
def test_what_is_no_plan_at_all_is_refused(raw: bytes) -> None:
    with pytest.raises(PlanError, match="routing plan"):
        RoutingPlan.from_json(raw)
