"""Keyed minimum tracking in O(log N): the data structure behind GALT and pending grants."""

from __future__ import annotations

import heapq
from typing import Iterator


class KeyedMinHeap:
    """Values keyed by federate name; set/discard/min-two in O(log N) with lazy deletion.

    Ties are broken by key, so iteration order never depends on call timing.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, str, int]] = []
        self._current: dict[str, tuple[int, int]] = {}
        self._version = 0

    def __len__(self) -> int:
        return len(self._current)

    def __contains__(self, key: str) -> bool:
        return key in self._current

    def get(self, key: str) -> int | None:
        entry = self._current.get(key)
        return None if entry is None else entry[0]

    def set(self, key: str, value: int) -> None:
        entry = self._current.get(key)
        if entry is not None and entry[0] == value:
            return
        self._version += 1
        self._current[key] = (value, self._version)
        heapq.heappush(self._heap, (value, key, self._version))
        if len(self._heap) > 2 * len(self._current) + 32:
            self._compact()

    def discard(self, key: str) -> None:
        self._current.pop(key, None)

    def _compact(self) -> None:
        self._heap = [(v, k, ver) for k, (v, ver) in self._current.items()]
        heapq.heapify(self._heap)

    def _clean_top(self) -> None:
        heap, current = self._heap, self._current
        while heap:
            value, key, version = heap[0]
            entry = current.get(key)
            if entry is not None and entry[1] == version:
                return
            heapq.heappop(heap)

    def peek(self) -> tuple[int, str] | None:
        self._clean_top()
        if not self._heap:
            return None
        value, key, _ = self._heap[0]
        return value, key

    def two_smallest(self) -> tuple[tuple[int, str] | None, tuple[int, str] | None]:
        first = self.peek()
        if first is None:
            return None, None
        top = heapq.heappop(self._heap)
        second = self.peek()
        heapq.heappush(self._heap, top)
        return first, second

    def min_excluding(self, key: str) -> int | None:
        first, second = self.two_smallest()
        if first is not None and first[1] != key:
            return first[0]
        return None if second is None else second[0]

    def pop_below(self, bound: int | None) -> Iterator[tuple[int, str]]:
        """Remove and yield entries with value < bound (all when bound is None), smallest first."""
        while True:
            top = self.peek()
            if top is None or (bound is not None and top[0] >= bound):
                return
            heapq.heappop(self._heap)
            del self._current[top[1]]
            yield top
