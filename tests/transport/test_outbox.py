"""A host's outgoing messages: in order, batched, and held steps never stuck longer than `hold`."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from federation.transport.outbox import Outbox


def next_batch(box: Outbox) -> tuple[list[Any], float]:
    """The next batch and the seconds it took to come (a fresh generator per call is fine: state is in the box)."""
    t0 = time.monotonic()
    batch = next(box.batches())
    return batch, time.monotonic() - t0


def test_what_piled_up_leaves_as_one_batch_in_order() -> None:
    box = Outbox(hold=5.0)
    for m in ("a", "b", "c"):
        box.put(m)
    assert next_batch(box)[0] == ["a", "b", "c"]


def test_held_steps_go_ahead_of_the_next_message_without_waiting_for_the_hold() -> None:
    box = Outbox(hold=30.0)
    box.put("s1", held=True)
    box.put("s2", held=True)
    box.put("tar")  # a step the host cannot grant: everything leaves now
    box.put("s3", held=True)  # already queued behind it: comes along
    batch, took = next_batch(box)
    assert batch == ["s1", "s2", "tar", "s3"]
    assert took < 5.0
    box.put("s4", held=True)
    box.close()  # closing sends what is still held, then ends
    assert list(box.batches()) == [["s4"]]


def test_held_steps_keep_their_place_among_other_messages() -> None:
    """Held steps leave where their first one was put, while the consumer is still busy elsewhere."""
    box = Outbox(hold=30.0)
    box.put("y")
    box.put("h1", held=True)
    box.put("x")
    box.put("h2", held=True)
    assert next_batch(box)[0] == ["y", "h1", "x", "h2"]
    box.put("h3", held=True)
    box.put("h4", held=True)
    box.put("z")
    box.put("h5", held=True)
    box.close()
    assert list(box.batches()) == [["h3", "h4", "z", "h5"]]


def test_a_concurrent_consumer_sees_each_threads_messages_in_order() -> None:
    box = Outbox(hold=0.0005, max_batch=8)
    seen: list[Any] = []
    consumer = threading.Thread(target=lambda: seen.extend(m for b in box.batches() for m in b))
    consumer.start()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    try:
        def producer(name: str) -> None:
            for i in range(2000):
                box.put((name, i), held=i % 4 != 0)
        threads = [threading.Thread(target=producer, args=(n,)) for n in "xy"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    box.close()
    consumer.join(30)
    for name in "xy":
        assert [i for n, i in seen if n == name] == list(range(2000))


def test_hold_must_be_a_non_negative_number() -> None:
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="hold must be"):
            Outbox(hold=bad)


def test_held_steps_leave_alone_once_the_hold_is_over() -> None:
    """A federate slow to reach its next message (a long doStep) does not keep its steps back."""
    box = Outbox(hold=0.2)
    box.put("s1", held=True)
    batch, took = next_batch(box)
    assert batch == ["s1"]
    assert 0.15 < took < 5.0


def test_a_message_arriving_during_the_hold_ends_it() -> None:
    box = Outbox(hold=30.0)
    box.put("s1", held=True)
    threading.Timer(0.1, box.put, ("hb",)).start()
    batch, took = next_batch(box)
    assert batch == ["s1", "hb"]
    assert took < 5.0


def test_held_lists_are_bounded_by_the_batch_size() -> None:
    box = Outbox(hold=30.0, max_batch=4)
    for i in range(10):
        box.put(i, held=True)
    box.put("tar")
    box.close()
    batches = list(box.batches())
    assert [m for b in batches for m in b] == [*range(10), "tar"]
    assert all(len(b) <= 2 * 4 for b in batches)
