"""The hot-path shortcuts agree with the plain definitions they replace."""

from __future__ import annotations

import random

import pytest

from federation.rti import FOM, RTI
from federation.rti import callbacks as cb
from federation.rti import errors as E
from federation.rti.ordering import KeyedMinHeap


@pytest.mark.parametrize("seed", range(20))
def test_keyed_min_heap_matches_a_sorted_reference(seed: int) -> None:
    rng = random.Random(seed)
    heap, ref = KeyedMinHeap(), {}
    keys = [f"k{i}" for i in range(12)]
    for _ in range(2000):
        op, key, value = rng.random(), rng.choice(keys), rng.randint(0, 15)
        if op < 0.6:
            heap.set(key, value)
            ref[key] = value
        elif op < 0.75:
            heap.discard(key)
            ref.pop(key, None)
        elif op < 0.8:
            bound = rng.choice([None, rng.randint(0, 15)])
            expected = sorted((v, k) for k, v in ref.items() if bound is None or v < bound)
            assert heap.pop_below(bound) == expected
            for _, k in expected:
                del ref[k]
        ordered = sorted((v, k) for k, v in ref.items())
        assert len(heap) == len(ref) and heap.get(key) == ref.get(key)
        assert heap.min() == (ordered[0][0] if ordered else None)
        distinct = sorted(set(ref.values()))
        assert heap.second() == (distinct[1] if len(distinct) > 1 else None)
        others = [v for k, v in ref.items() if k != key]
        assert heap.min_excluding(key) == (min(others) if others else None)


def test_update_shortcut_still_checks_ownership_publication_and_deletion() -> None:
    fx = RTI().create_federation_execution("f", FOM({"A": ["x", "y"]}))
    a, b = fx.join("a"), fx.join("b")
    fx.publish_object_class_attributes(a, "A", ["x"])
    fx.subscribe_object_class_attributes(b, "A", ["x", "y"])
    obj = fx.register_object_instance(a, "A")
    fx.update_attribute_values(a, obj, {0: 1.0})  # validated once, then cached
    with pytest.raises(E.AttributeNotOwned):
        fx.update_attribute_values(b, obj, {0: 2.0})
    with pytest.raises(E.AttributeNotPublished):
        fx.update_attribute_values(a, obj, {1: 2.0})
    with pytest.raises(E.AttributeNotDefined):
        fx.update_attribute_values(a, obj, {7: 2.0})
    fx.publish_object_class_attributes(a, "A", ["y"])  # publishing more widens what passes
    fx.update_attribute_values(a, obj, {0: 3.0, 1: 4.0})
    reflected = [c.values for c in fx.drain(b) if isinstance(c, cb.ReflectAttributeValues)]
    assert reflected == [{0: 1.0}, {0: 3.0, 1: 4.0}]
    fx.delete_object_instance(a, obj)
    with pytest.raises(E.ObjectInstanceNotKnown):
        fx.update_attribute_values(a, obj, {0: 5.0})


def test_receivers_get_only_their_attributes_and_never_the_senders_dict() -> None:
    fx = RTI().create_federation_execution("f", FOM({"A": ["x", "y"]}))
    a, b, c = fx.join("a"), fx.join("b"), fx.join("c")
    fx.publish_object_class_attributes(a, "A", ["x", "y"])
    fx.subscribe_object_class_attributes(b, "A", ["x", "y"])
    fx.subscribe_object_class_attributes(c, "A", ["y"])
    obj = fx.register_object_instance(a, "A")
    sent = {0: 1.0, 1: 2.0}
    fx.update_attribute_values(a, obj, sent)
    sent[0] = 99.0  # the sender reusing its mapping must not change what was delivered
    got_b = [x.values for x in fx.drain(b) if isinstance(x, cb.ReflectAttributeValues)]
    got_c = [x.values for x in fx.drain(c) if isinstance(x, cb.ReflectAttributeValues)]
    assert got_b == [{0: 1.0, 1: 2.0}] and got_c == [{1: 2.0}]


def test_messages_are_shipped_ahead_only_to_a_federate_with_no_request_pending() -> None:
    # A pending TAR is granted by the core, messages included, once GALT passes it:
    # shipping them on every GALT move before that would only cost messages.
    fx = RTI().create_federation_execution("f", FOM({"Src": ["x"]}))
    src, reader = fx.join("src"), fx.join("reader")
    fx.publish_object_class_attributes(src, "Src", ["x"])
    fx.subscribe_object_class_attributes(reader, "Src", ["x"])
    obj = fx.register_object_instance(src, "Src")
    for h, lookahead in ((src, 1), (reader, 5)):
        fx.enable_time_regulation(h, lookahead)
        fx.enable_time_constrained(h)
        fx.drain(h)
    fx.time_advance_request(reader, 5)
    fx.update_attribute_values(src, obj, {0: 1.0}, 1)
    fx.time_advance_request(src, 1)
    assert fx.drain_ahead(reader) == ([], None)  # pending: held for the grant
    for t in range(1, 5):
        fx.update_attribute_values(src, obj, {0: float(t + 1)}, t + 1)
        fx.time_advance_request(src, t + 1)
    granted, galt = fx.drain_ahead(reader)
    assert [type(c).__name__ for c in granted][-1] == "TimeAdvanceGrant" and galt is not None
    fx.update_attribute_values(src, obj, {0: 9.0}, 6)
    fx.time_advance_request(src, 6)
    ahead, galt = fx.drain_ahead(reader)  # granted and stepping: what lies below its safe GALT goes now
    assert [c.timestamp for c in ahead if isinstance(c, cb.ReflectAttributeValues)] == [6] and galt == 7
