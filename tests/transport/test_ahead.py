"""Grants a host gives itself below a safe GALT: same callbacks, same order, as the RTI's."""

from __future__ import annotations

from federation.rti import callbacks as cb
from federation.transport.ahead import AheadClock, GaltNotice


def reflect(ts: int, value: float = 1.0) -> cb.ReflectAttributeValues:
    return cb.ReflectAttributeValues(1, {0: value}, ts, "src")


def test_a_tar_below_the_safe_galt_is_granted_here_with_the_messages_it_covers() -> None:
    clock = AheadClock()
    clock.constrained = True
    assert clock.request(10) is False  # nothing known yet
    first = clock.filter([reflect(10), reflect(20), cb.TimeAdvanceGrant(10), GaltNotice(35), reflect(30)])
    assert first == [reflect(10), cb.TimeAdvanceGrant(10)]  # 20 and 30 wait for their grants
    assert clock.request(20) is True  # below 35: no round trip
    assert clock.filter([]) == [reflect(20), cb.TimeAdvanceGrant(20)]
    assert clock.request(30) is True
    assert clock.filter([]) == [reflect(30), cb.TimeAdvanceGrant(30)]
    assert clock.request(40) is False  # at or past the GALT: the RTI decides
    assert clock.filter([]) == []
    assert clock.filter([reflect(40), cb.TimeAdvanceGrant(40)]) == [reflect(40), cb.TimeAdvanceGrant(40)]


def test_without_a_galt_everything_waits_for_the_rti() -> None:
    clock = AheadClock()
    clock.constrained = True
    assert clock.request(5) is False
    assert clock.filter([reflect(5)]) == []
    assert clock.filter([cb.TimeAdvanceGrant(5)]) == [reflect(5), cb.TimeAdvanceGrant(5)]


def test_receive_order_callbacks_pass_straight_through() -> None:
    clock = AheadClock()
    clock.constrained = True
    ro = cb.ReflectAttributeValues(1, {0: 2.0}, None, "src")
    announce = cb.AnnounceSynchronizationPoint("go", "")
    assert clock.filter([ro, announce]) == [ro, announce]


def test_an_nmr_stops_at_a_message_already_held() -> None:
    clock = AheadClock()
    clock.constrained = True
    clock.filter([GaltNotice(100), reflect(42), reflect(60)])
    assert clock.next_message(50) == 42
    assert clock.next_message(30) is None


def test_a_grant_the_host_already_gave_is_never_delivered_twice() -> None:
    clock = AheadClock()
    clock.constrained = True
    clock.filter([GaltNotice(100)])
    clock.request(10)
    assert clock.filter([]) == [cb.TimeAdvanceGrant(10)]
    assert clock.filter([cb.TimeAdvanceGrant(10)]) == []


def test_an_nmr_grant_from_the_rti_is_delivered() -> None:
    clock = AheadClock()
    clock.constrained = True
    clock.request_from_rti()
    assert clock.filter([reflect(7), cb.TimeAdvanceGrant(7)]) == [reflect(7), cb.TimeAdvanceGrant(7)]


def test_a_latest_value_federate_gets_what_a_local_grant_releases_merged_like_the_rti_does() -> None:
    clock = AheadClock()
    clock.constrained = clock.latest_values = True
    clock.filter([GaltNotice(100), reflect(10, 1.0), reflect(20, 2.0), reflect(30, 3.0)])
    assert clock.request(25) is True
    assert clock.filter([]) == [reflect(20, 2.0), cb.TimeAdvanceGrant(25)]
