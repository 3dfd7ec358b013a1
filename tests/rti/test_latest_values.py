"""Latest-value delivery: what one grant releases arrives merged per object, nothing else changes."""

from __future__ import annotations

import random

import pytest

from federation.rti import FOM, RTI
from federation.rti import callbacks as cb


def reflect(obj: int, values: dict[int, float], ts: int, sender: str = "src") -> cb.ReflectAttributeValues:
    return cb.ReflectAttributeValues(obj, values, ts, sender)


def test_a_run_keeps_one_reflection_per_object_at_its_last_place_with_the_latest_values() -> None:
    a1, b1, a2 = reflect(1, {0: 1.0, 1: 10.0}, 5), reflect(2, {0: 7.0}, 5, "b"), reflect(1, {0: 2.0}, 6)
    merged = cb.merge_latest_values([a1, b1, a2])
    assert merged == [b1, reflect(1, {0: 2.0, 1: 10.0}, 6)]
    assert a1.values == {0: 1.0, 1: 10.0}  # shared originals are never mutated


def test_nothing_is_merged_or_moved_across_an_interaction() -> None:
    a1, a2, a3 = reflect(1, {0: 1.0}, 5), reflect(1, {0: 2.0}, 6), reflect(1, {0: 3.0}, 7)
    hit = cb.ReceiveInteraction(3, {0: 1.0}, 6, "ems")
    assert cb.merge_latest_values([a1, hit, a2, a3]) == [a1, hit, reflect(1, {0: 3.0}, 7)]


@pytest.mark.parametrize("seed", range(25))
def test_a_latest_wins_reader_ends_up_holding_the_same_values(seed: int) -> None:
    rng = random.Random(seed)
    items: list[cb.Callback] = []
    for ts in range(40):
        if rng.random() < 0.15:
            items.append(cb.ReceiveInteraction(9, {0: float(ts)}, ts, "i"))
        else:
            obj = rng.randint(1, 3)
            attrs = rng.sample(range(4), rng.randint(1, 4))
            items.append(reflect(obj, {a: rng.random() for a in attrs}, ts))

    def held(seq: list[cb.Callback]) -> tuple[dict[tuple[int, int], float], list[cb.Callback]]:
        state: dict[tuple[int, int], float] = {}
        others = []
        for c in seq:
            if isinstance(c, cb.ReflectAttributeValues):
                state.update({(c.object_handle, a): v for a, v in c.values.items()})
            else:
                others.append(c)
        return state, others

    merged = cb.merge_latest_values(items)
    assert held(merged) == held(items)
    assert len(merged) <= len(items)


def lockstep(latest: bool) -> list[cb.Callback]:
    """A fast source (step 1) feeding a slow reader (step 5): what the reader sees at its first grant."""
    fx = RTI().create_federation_execution("f", FOM({"Src": ["x", "y"]}))
    src, reader = fx.join("src"), fx.join("reader")
    fx.publish_object_class_attributes(src, "Src", ["x", "y"])
    fx.subscribe_object_class_attributes(reader, "Src", ["x", "y"])
    obj = fx.register_object_instance(src, "Src")
    fx.enable_time_regulation(src, 1)
    fx.enable_time_constrained(src)
    fx.enable_time_regulation(reader, 5)
    fx.enable_time_constrained(reader, latest_values=latest)
    fx.drain(reader)
    fx.time_advance_request(reader, 5)
    for t in range(5):
        fx.update_attribute_values(src, obj, {0: float(t), 1: -float(t)} if t < 3 else {0: float(t)}, t + 1)
        fx.time_advance_request(src, t + 1)
    return fx.drain(reader)


def test_the_core_merges_what_one_grant_releases_only_for_a_latest_value_federate() -> None:
    every = lockstep(latest=False)
    assert [type(c).__name__ for c in every] == ["ReflectAttributeValues"] * 5 + ["TimeAdvanceGrant"]
    merged = lockstep(latest=True)
    assert merged == [cb.ReflectAttributeValues(1, {0: 4.0, 1: -2.0}, 5, "src"), cb.TimeAdvanceGrant(5)]
