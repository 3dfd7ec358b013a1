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

_HELD = object()  # marker in the queue: the held list has messages


class Outbox:
    """Messages in the order they were put, as batches: one per write to the stream."""

    def __init__(self, hold: float = HOLD, max_batch: int = MAX_BATCH) -> None:
        self.hold = hold
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
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
            if held:
                self._held.append(message)
                if len(self._held) == 1:
                    self._queue.put(_HELD)
                elif len(self._held) >= self.max_batch:
                    self._queue.put(self._held)
                    self._held = []
                return
            if self._held:
                self._queue.put(self._held)
                self._held = []
            self._queue.put(message)

    def close(self) -> None:
        """End `batches` once what was put before has left."""
        self.put(None)

    def batches(self, join: Callable[[list[Any]], Any] = list) -> Iterator[Any]:
        """Each batch of what piled up while the last one was being sent, as `join(messages)`."""
        q = self._queue
        while (item := q.get()) is not None:
            if item is _HELD:  # wait a little for company
                try:
                    item = q.get(timeout=self.hold)
                except queue.Empty:
                    item = _HELD
            batch: list[Any] = []
            while item is not None:
                if item is _HELD:
                    with self._lock:
                        batch.extend(self._held)
                        self._held.clear()
                elif type(item) is list:
                    batch.extend(item)
                else:
                    batch.append(item)
                if len(batch) >= self.max_batch or q.empty():
                    break
                item = q.get_nowait()
            if batch:
                yield join(batch)
            if item is None:
                return
