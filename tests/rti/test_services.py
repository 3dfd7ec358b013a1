"""Unit tests of the RTI core, one group per IEEE 1516 service family."""

from __future__ import annotations

import pytest

from federation.rti import FOM, RTI, errors as E
from federation.rti import callbacks as cb
from federation.rti.execution import FederationExecution


def make(fom: FOM | None = None) -> FederationExecution:
    return RTI().create_federation_execution("fx", fom or FOM({"A": ["x", "y"], "B": ["z"]}, {"Ping": ["n"]}))


def kinds(cbs: list[cb.Callback]) -> list[str]:
    return [type(c).__name__ for c in cbs]


# federation management ------------------------------------------------------
def test_create_destroy_and_isolation() -> None:
    rti = RTI()
    a = rti.create_federation_execution("a", FOM())
    rti.create_federation_execution("b", FOM())
    with pytest.raises(E.FederationExecutionAlreadyExists):
        rti.create_federation_execution("a", FOM())
    h = a.join("f")
    with pytest.raises(E.FederatesCurrentlyJoined):
        rti.destroy_federation_execution("a")
    a.resign(h)
    rti.destroy_federation_execution("a")
    assert rti.list_federation_executions() == ["b"]
    with pytest.raises(E.FederationExecutionDoesNotExist):
        rti.execution("a")


def test_join_resign_and_membership_errors() -> None:
    fx = make()
    h = fx.join("f1")
    with pytest.raises(E.FederateNameAlreadyInUse):
        fx.join("f1")
    fx.resign(h)
    with pytest.raises(E.FederateNotExecutionMember):
        fx.resign(h)
    with pytest.raises(E.FederateNotExecutionMember):
        fx.time_advance_request(h, 10)


# declaration and object management ------------------------------------------
def test_publish_subscribe_discover_reflect_only_subscribed_attributes() -> None:
    fx = make()
    p, s, other = fx.join("p"), fx.join("s"), fx.join("o")
    fx.publish_object_class_attributes(p, "A", ["x", "y"])
    fx.subscribe_object_class_attributes(s, "A", ["y"])
    obj = fx.register_object_instance(p, "A", "p.a1")
    assert kinds(fx.drain(s)) == ["DiscoverObjectInstance"]
    fx.update_attribute_values(p, obj, {0: 1.0, 1: 2.0})
    (reflect,) = fx.drain(s)
    assert isinstance(reflect, cb.ReflectAttributeValues) and reflect.values == {1: 2.0}
    assert fx.drain(other) == [] and fx.drain(p) == []


def test_late_subscriber_discovers_existing_objects() -> None:
    fx = make()
    p, s = fx.join("p"), fx.join("s")
    fx.publish_object_class_attributes(p, "A", ["x"])
    fx.register_object_instance(p, "A", "p.a1")
    fx.subscribe_object_class_attributes(s, "A", ["x"])
    assert kinds(fx.drain(s)) == ["DiscoverObjectInstance"]


def test_object_and_declaration_errors_leave_state_unchanged() -> None:
    fx = make()
    p, q = fx.join("p"), fx.join("q")
    with pytest.raises(E.ObjectClassNotPublished):
        fx.register_object_instance(p, "A")
    with pytest.raises(E.ObjectClassNotDefined):
        fx.publish_object_class_attributes(p, "Nope", ["x"])
    with pytest.raises(E.AttributeNotDefined):
        fx.publish_object_class_attributes(p, "A", ["nope"])
    fx.publish_object_class_attributes(p, "A", ["x"])
    obj = fx.register_object_instance(p, "A", "p.a1")
    fx.publish_object_class_attributes(q, "A", ["x"])
    with pytest.raises(E.ObjectInstanceNameNotReserved):
        fx.register_object_instance(q, "A", "p.a1")  # another's name: refused, and p keeps it
    with pytest.raises(E.ObjectInstanceNameNotReserved):
        fx.register_object_instance(q, "A", "p")
    with pytest.raises(E.ObjectInstanceNameNotReserved):
        fx.register_object_instance(q, "A", "q#1")  # the RTI's own names
    with pytest.raises(E.ObjectInstanceNameInUse):
        fx.register_object_instance(p, "A", "p.a1")
    with pytest.raises(E.AttributeNotPublished):
        fx.update_attribute_values(p, obj, {1: 1.0})
    with pytest.raises(E.AttributeNotDefined):
        fx.update_attribute_values(p, obj, {7: 1.0})
    with pytest.raises(E.AttributeNotOwned):
        fx.update_attribute_values(q, obj, {0: 1.0})
    with pytest.raises(E.ObjectInstanceNotKnown):
        fx.update_attribute_values(p, 999, {0: 1.0})
    fx.update_attribute_values(p, obj, {0: 1.0})  # the object is intact


def test_resign_removes_objects_from_discoverers() -> None:
    fx = make()
    p, s = fx.join("p"), fx.join("s")
    fx.publish_object_class_attributes(p, "A", ["x"])
    fx.subscribe_object_class_attributes(s, "A", ["x"])
    fx.register_object_instance(p, "A", "p.a1")
    fx.resign(p)
    assert kinds(fx.drain(s)) == ["DiscoverObjectInstance", "RemoveObjectInstance"]


# interactions ---------------------------------------------------------------
def test_interactions_receive_order_and_timestamp_order() -> None:
    fx = make()
    s, r, ro = fx.join("s"), fx.join("r"), fx.join("ro")
    fx.publish_interaction_class(s, "Ping")
    for h in (r, ro):
        fx.subscribe_interaction_class(h, "Ping")
    fx.enable_time_regulation(s, 5)
    fx.enable_time_constrained(r)
    fx.drain(s), fx.drain(r)
    fx.send_interaction(s, "Ping", {0: 1.0}, 7)
    assert fx.drain(r) == []  # TSO: held until r is granted 7
    assert kinds(fx.drain(ro)) == ["ReceiveInteraction"]  # not constrained: receive order
    fx.time_advance_request(r, 10)
    assert fx.drain(r) == []  # s may still send at 5
    fx.time_advance_request(s, 20)
    got = fx.drain(r)
    assert kinds(got) == ["ReceiveInteraction", "TimeAdvanceGrant"] and got[0].timestamp == 7
    with pytest.raises(E.InteractionClassNotPublished):
        fx.send_interaction(r, "Ping", {0: 1.0})
    with pytest.raises(E.InteractionParameterNotDefined):
        fx.send_interaction(s, "Ping", {3: 1.0}, 30)


# time management -------------------------------------------------------------
def test_invalid_logical_time_below_time_plus_lookahead() -> None:
    fx = make()
    p = fx.join("p")
    fx.publish_object_class_attributes(p, "A", ["x"])
    obj = fx.register_object_instance(p, "A")
    fx.enable_time_regulation(p, 10)
    with pytest.raises(E.InvalidLogicalTime):
        fx.update_attribute_values(p, obj, {0: 1.0}, 9)
    fx.update_attribute_values(p, obj, {0: 1.0}, 10)
    with pytest.raises(E.InvalidLookahead):
        fx.enable_time_regulation(fx.join("q"), -1)
    with pytest.raises(E.TimeRegulationAlreadyEnabled):
        fx.enable_time_regulation(p, 3)


def test_time_advance_already_in_progress_and_time_passed() -> None:
    fx = make()
    a, b = fx.join("a"), fx.join("b")
    for h in (a, b):
        fx.enable_time_regulation(h, 10)
        fx.enable_time_constrained(h)
    fx.time_advance_request(a, 10)
    with pytest.raises(E.TimeAdvanceAlreadyInProgress):
        fx.time_advance_request(a, 20)
    with pytest.raises(E.TimeAdvanceAlreadyInProgress):
        fx.next_message_request(a, 20)
    fx.time_advance_request(b, 10)
    assert fx.federate(a).time == 10
    with pytest.raises(E.LogicalTimeAlreadyPassed):
        fx.time_advance_request(a, 5)


def test_tar_waits_for_galt_then_grants() -> None:
    fx = make()
    a, b = fx.join("a"), fx.join("b")
    for h in (a, b):
        fx.enable_time_regulation(h, 10)
        fx.enable_time_constrained(h)
        fx.drain(h)
    fx.time_advance_request(a, 10)
    assert fx.query_galt(a) == 10 and fx.drain(a) == []  # b could still send at 10
    fx.time_advance_request(b, 10)
    assert kinds(fx.drain(a)) == ["TimeAdvanceGrant"] and kinds(fx.drain(b)) == ["TimeAdvanceGrant"]


def test_multi_rate_fast_federate_runs_ahead_to_slow_ones_bound() -> None:
    fx = make()
    fast, slow = fx.join("fast"), fx.join("slow")
    fx.enable_time_regulation(fast, 1)
    fx.enable_time_regulation(slow, 10)
    for h in (fast, slow):
        fx.enable_time_constrained(h)
    fx.time_advance_request(slow, 10)  # slow's bound is now 20
    grants = []
    for t in range(1, 20):
        fx.time_advance_request(fast, t)
        grants += [c.time for c in fx.drain(fast) if isinstance(c, cb.TimeAdvanceGrant)]
    assert grants == list(range(1, 20))
    fx.time_advance_request(fast, 20)
    assert fx.federate(fast).time == 19  # 20 is not below slow's bound


def test_nmr_jumps_to_next_message() -> None:
    fx = make()
    s, r = fx.join("s"), fx.join("r")
    fx.publish_interaction_class(s, "Ping")
    fx.subscribe_interaction_class(r, "Ping")
    fx.enable_time_regulation(s, 1)
    fx.enable_time_constrained(r)
    fx.drain(r)
    fx.send_interaction(s, "Ping", {0: 1.0}, 42)
    fx.next_message_request(r, 1000)
    assert fx.drain(r) == []
    fx.time_advance_request(s, 100)  # s's bound 101: nothing below 42 can arrive any more
    got = fx.drain(r)
    assert kinds(got) == ["ReceiveInteraction", "TimeAdvanceGrant"] and got[1].time == 42


def test_nmr_without_messages_grants_requested_time() -> None:
    fx = make()
    r = fx.join("r")
    fx.enable_time_constrained(r)
    fx.drain(r)
    fx.next_message_request(r, 500)
    assert [c.time for c in fx.drain(r) if isinstance(c, cb.TimeAdvanceGrant)] == [500]


def test_ties_are_broken_by_sender_name_then_sequence() -> None:
    fx = make(FOM({"A": ["x"], "B": ["x"]}))
    zed, alpha, r = fx.join("zed"), fx.join("alpha"), fx.join("r")
    objs = {}
    for h, c in ((zed, "A"), (alpha, "B")):
        fx.publish_object_class_attributes(h, c, ["x"])
        objs[h] = fx.register_object_instance(h, c)
        fx.enable_time_regulation(h, 1)
    fx.subscribe_object_class_attributes(r, "A", ["x"])
    fx.subscribe_object_class_attributes(r, "B", ["x"])
    fx.enable_time_constrained(r)
    fx.update_attribute_values(zed, objs[zed], {0: 1.0}, 5)
    fx.update_attribute_values(alpha, objs[alpha], {0: 2.0}, 5)
    fx.update_attribute_values(alpha, objs[alpha], {0: 3.0}, 5)
    fx.drain(r)
    fx.time_advance_request(r, 5)
    for h in (zed, alpha):
        fx.time_advance_request(h, 10)
    order = [(c.sender, c.values[0]) for c in fx.drain(r) if isinstance(c, cb.ReflectAttributeValues)]
    assert order == [("alpha", 2.0), ("alpha", 3.0), ("zed", 1.0)]


def test_resign_of_a_regulator_unblocks_waiters() -> None:
    fx = make()
    a, b = fx.join("a"), fx.join("b")
    fx.enable_time_regulation(a, 1)
    fx.enable_time_constrained(b)
    fx.drain(b)
    fx.time_advance_request(b, 50)
    assert fx.drain(b) == []
    fx.resign(a)
    assert kinds(fx.drain(b)) == ["TimeAdvanceGrant"]


def test_deadlock_is_reported_for_zero_lookahead_cycle() -> None:
    fx = make()
    a, b = fx.join("a"), fx.join("b")
    for h in (a, b):
        fx.enable_time_regulation(h, 0)
        fx.enable_time_constrained(h)
    fx.time_advance_request(a, 1)
    fx.time_advance_request(b, 1)
    assert fx.deadlocked


# synchronization points --------------------------------------------------------
def test_synchronization_point_announce_and_synchronized() -> None:
    fx = make()
    a, b = fx.join("a"), fx.join("b")
    fx.register_synchronization_point(a, "ready", "tag")
    assert kinds(fx.drain(a)) == kinds(fx.drain(b)) == ["AnnounceSynchronizationPoint"]
    with pytest.raises(E.SynchronizationPointLabelInUse):
        fx.register_synchronization_point(b, "ready")
    fx.synchronization_point_achieved(a, "ready")
    assert fx.drain(a) == []
    fx.synchronization_point_achieved(b, "ready")
    assert kinds(fx.drain(a)) == kinds(fx.drain(b)) == ["FederationSynchronized"]
    with pytest.raises(E.SynchronizationPointLabelNotAnnounced):
        fx.synchronization_point_achieved(a, "ready")


def test_resigning_member_completes_a_synchronization_point() -> None:
    fx = make()
    a, b = fx.join("a"), fx.join("b")
    fx.register_synchronization_point(a, "go")
    fx.synchronization_point_achieved(a, "go")
    fx.resign(b)
    assert kinds(fx.drain(a)) == ["AnnounceSynchronizationPoint", "FederationSynchronized"]


def test_times_and_lookaheads_beyond_the_end_of_time_are_refused_by_the_offender() -> None:
    from federation.rti.time import END_OF_TIME

    fx = make()
    p, q = fx.join("p"), fx.join("q")
    with pytest.raises(E.InvalidLookahead, match="end of time"):
        fx.enable_time_regulation(p, 2**63 - 1)
    fx.enable_time_regulation(p, 1)
    with pytest.raises(E.InvalidLookahead):
        fx.modify_lookahead(p, END_OF_TIME)
    with pytest.raises(E.InvalidLogicalTime, match="end of time"):
        fx.time_advance_request(p, 2**63 - 1)
    fx.time_advance_request(p, END_OF_TIME)  # the largest time allowed: + lookahead still fits in 64 bits
    fx.enable_time_constrained(q)  # the victim of the overflow before: nothing breaks
    assert fx.query_galt(q) == END_OF_TIME + 1 < 2**63
