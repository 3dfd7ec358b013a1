"""Log lines for refused peers (bad frames, oversize or silent sessions): one per address per interval, bounded."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict

from federation.clip import clip

MAX_ADDRESSES = 4096  # addresses remembered; the oldest is forgotten first


def peer_address(peer: str) -> str:
    """The address part of a gRPC peer string ('ipv4:10.0.0.1:5123' -> '10.0.0.1'; '[::1]' for IPv6)."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rpartition(":")[0] or rest
    return peer


class RefusalLog:
    """Warnings about refused peers, rate-limited per address: a client that is refused in a loop
    writes one line per `every` seconds, with the count of the refusals it made in between.
    Safe to share between threads (the service's event loop and the connection gate's)."""

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self.log, self.every = logger, every
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()  # address -> (last line, held back)
        self._lock = threading.Lock()

    def refused(self, peer: str, what: str) -> None:
        address = peer_address(peer)
        now = time.monotonic()
        with self._lock:
            last, held = self._seen.pop(address, (-math.inf, 0))
            if now - last < self.every:
                self._seen[address] = (last, held + 1)
                return
            self._seen[address] = (now, 0)
            while len(self._seen) > MAX_ADDRESSES:
                self._seen.popitem(last=False)
        more = f" (and {held} more refusals since the last line about it)" if held else ""
        self.log.warning("refused %s: %s%s", clip(address, 100), clip(what), more)
