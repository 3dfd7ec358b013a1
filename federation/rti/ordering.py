"""Keyed minimum tracking: the data structure behind GALT and pending grants."""

from __future__ import annotations

import heapq


class KeyedMinHeap:
    """Values keyed by federate name, grouped in buckets of equal value under a heap of distinct values.

    Federates in lockstep share very few distinct values (all at t + h, or already at
    t + 2h), so moving a key costs two dict updates and a heap push only for a value
    nobody holds yet; the minimum and who holds it are read at the heap top without
    popping. A bucket emptied below the top stays in the heap until it surfaces (lazy
    deletion), and the heap is rebuilt when stale values outnumber live keys, so
    every operation is O(log N) amortized. Ties are broken by key, so the order of
    `pop_below` never depends on call timing.
    """

    def __init__(self) -> None:
        self._value: dict[str, int] = {}
        # Every value in the heap has a bucket here, empty once its last key moved away.
        self._buckets: dict[int, set[str]] = {}
        self._heap: list[int] = []

    def __len__(self) -> int:
        return len(self._value)

    def __contains__(self, key: str) -> bool:
        return key in self._value

    def get(self, key: str) -> int | None:
        return self._value.get(key)

    def set(self, key: str, value: int) -> None:
        values, buckets = self._value, self._buckets
        old = values.get(key)
        if old == value:
            return
        if old is not None:
            buckets[old].discard(key)
        values[key] = value
        bucket = buckets.get(value)
        if bucket is None:
            buckets[value] = {key}
            heapq.heappush(self._heap, value)
            if len(self._heap) > 2 * len(values) + 32:
                self._compact()
        else:
            bucket.add(key)

    def discard(self, key: str) -> None:
        old = self._value.pop(key, None)
        if old is not None:
            self._buckets[old].discard(key)

    def _compact(self) -> None:
        self._buckets = {v: b for v, b in self._buckets.items() if b}
        self._heap = list(self._buckets)
        heapq.heapify(self._heap)

    def min(self) -> int | None:
        """The smallest value, or None when empty."""
        heap, buckets = self._heap, self._buckets
        while heap:
            if buckets[heap[0]]:
                return heap[0]
            del buckets[heapq.heappop(heap)]
        return None

    def min_and_sole_holder(self) -> tuple[int | None, str | None]:
        """The smallest value, and the key holding it if no other key does (else None)."""
        heap, buckets = self._heap, self._buckets
        while heap:  # min(), inline (keep the two alike): this runs on every time advance
            bucket = buckets[heap[0]]
            if bucket:
                return heap[0], (next(iter(bucket)) if len(bucket) == 1 else None)
            del buckets[heapq.heappop(heap)]
        return None, None

    def second(self) -> int | None:
        """The smallest value above the minimum (not the minimum again), or None."""
        low = self.min()
        if low is None:
            return None
        top = heapq.heappop(self._heap)
        above = self.min()
        heapq.heappush(self._heap, top)
        return above

    def min_excluding(self, key: str) -> int | None:
        """The smallest value held by any key other than `key`."""
        low, holder = self.min_and_sole_holder()
        return self.second() if holder == key else low

    def pop_below(self, bound: int | None) -> list[tuple[int, str]]:
        """Remove and return entries with value < bound (all when bound is None), smallest first, ties by key."""
        out: list[tuple[int, str]] = []
        while True:
            low = self.min()
            if low is None or (bound is not None and low >= bound):
                return out
            heapq.heappop(self._heap)
            for key in sorted(self._buckets.pop(low)):
                del self._value[key]
                out.append((low, key))
