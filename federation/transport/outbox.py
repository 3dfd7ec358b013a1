"""A host's outgoing messages: queued by any thread, handed to gRPC in batches, in order.

Steps a host granted its federate itself may be held back a little, to share a write with
the messages that follow: nobody can be waiting long on them (see `Outbox.put`).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator

HOLD = 0.002  # seconds a held step waits, at most, for company
MAX_BATCH = 256  # messages per batch, give or take one held list; the RTI accepts 4096

_NOTHING = object()


class Outbox:
    """Messages in the order they were put, as batches: one per write to the stream."""

    def __init__(self, hold: float = HOLD, max_batch: int = MAX_BATCH) -> None:
        if not hold >= 0:
            raise ValueError(f"hold must be a number of seconds >= 0, got {hold!r}")
        self.hold = hold
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # The list held messages go into. It is queued when its first message comes, so it
        # leaves in that place; any other message closes it (a new one starts after).
        self._held: list[Any] = []
        self._lock = threading.Lock()

    def put(self, message: Any, held: bool = False) -> None:
        """Queue a message; `held`: it may wait up to `hold` seconds for the next one.

        For steps granted here: the federate is stepping on, and its next step the host cannot
        grant (or any message at all) takes the held ones along at once, ahead of it; `hold`
        bounds the wait when it is slow to get there. The RTI gets the same messages in the same
        order, in fewer writes, and the sending thread wakes once per batch, not once per step.
        """
        with self._lock:
            if not held:
                if self._held:
                    self._held = []  # closed: already queued where its first message was put
                self._queue.put(message)
                return
            self._held.append(message)
            if len(self._held) == 1:
                self._queue.put(self._held)
            elif len(self._held) >= self.max_batch:
                self._held = []

    def close(self) -> None:
        """End `batches` once what was put before has left."""
        self.put(None)

    def _take(self, held: list[Any]) -> list[Any]:
        """A queued held list, closed first if it is still open (nothing is added to it after)."""
        with self._lock:
            if held is self._held:
                self._held = []
        return held

    def batches(self, join: Callable[[list[Any]], Any] = list) -> Iterator[Any]:
        """Each batch of what piled up while the last one was being sent, as `join(messages)`."""
        q = self._queue
        while (item := q.get()) is not None:
            batch: list[Any] = []
            if type(item) is list and item is self._held:  # still open: wait a little for company
                try:
                    after = q.get(timeout=self.hold)
                except queue.Empty:
                    after = _NOTHING
                batch.extend(self._take(item))
                item = after
            while item is not _NOTHING and item is not None:
                if type(item) is list:
                    batch.extend(self._take(item))
                else:
                    batch.append(item)
                item = _NOTHING if len(batch) >= self.max_batch or q.empty() else q.get_nowait()
            if batch:
                yield join(batch)
            if item is None:
                return
