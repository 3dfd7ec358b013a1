"""Grants a host gives its federate itself, below a safe GALT the RTI forwards.

While a federate has no request pending, the RTI sends it, with its callbacks, a GALT
that never decreases and every TSO message stamped below it (and, after a failure, a final
shipment of the same kind). Nothing can then arrive below that GALT, so a TAR below it will
certainly be granted, with exactly the messages already here: the host grants it at once
instead of waiting a round trip, and tells the RTI, which then sends no grant back. The
order of what the federate sees is the order the RTI would have delivered.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from federation.rti import callbacks as cb
from federation.rti.time import LogicalTime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GaltNotice:
    """Marks, in a federate's inbox, where the RTI's safe GALT became `galt`."""

    galt: LogicalTime


_TSO = (cb.ReflectAttributeValues, cb.ReceiveInteraction)


class AheadClock:
    """One federate's time on a host: TSO messages held until granted, and local grants pending confirmation."""

    def __init__(self) -> None:
        self.constrained = False
        self.latest_values = False  # merge what one grant releases, as the RTI does
        self.galt: LogicalTime | None = None
        self.early: deque[cb.ReflectAttributeValues | cb.ReceiveInteraction] = deque()  # TSO messages not granted yet, in delivery order
        self.want: LogicalTime | None = None  # a TAR not granted yet
        self.here = False  # `want` is granted here (the RTI sends no grant for it)
        self.awaiting = False  # a request only the RTI can grant

    def request(self, time: LogicalTime) -> bool:
        """Note a TAR; True when it is granted here, without waiting (tell the RTI so)."""
        self.want = time
        self.here = self.galt is not None and time < self.galt
        self.awaiting = not self.here
        return self.here

    def request_from_rti(self) -> None:
        """Note a request (an NMR) that only the RTI can grant."""
        self.want, self.here, self.awaiting = None, False, True

    def next_message(self, time: LogicalTime) -> LogicalTime | None:
        """For an NMR(time): the time of a message held here that it must stop at, if any."""
        if self.early:
            first = self.early[0].timestamp
            if first is not None and first <= time:
                return first
        return None

    def filter(self, raw: list[object]) -> list[cb.Callback]:
        """The callbacks the federate should see now, from what the RTI sent."""
        out: list[cb.Callback] = []
        for c in raw:
            if isinstance(c, GaltNotice):
                self.galt = c.galt
            elif self.constrained and isinstance(c, _TSO) and c.timestamp is not None:
                self.early.append(c)
            elif isinstance(c, cb.TimeAdvanceGrant):
                if not self.awaiting:  # the RTI granting a TAR granted here: only a bug could do it
                    log.error("dropping a second grant for t=%s", c.time)
                    continue
                self._release(out, c.time)
                out.append(c)
                self.want, self.awaiting = None, False
            else:
                out.append(c)  # type: ignore[arg-type]  # any other callback passes through
        if self.here and self.want is not None:
            self._release(out, self.want)
            out.append(cb.TimeAdvanceGrant(self.want))
            self.want, self.here = None, False
        return out

    def _release(self, out: list[cb.Callback], time: LogicalTime) -> None:
        early = self.early
        released: list[cb.Callback] = []
        while early and (early[0].timestamp or 0) <= time:
            released.append(early.popleft())
        out.extend(cb.merge_latest_values(released) if self.latest_values and len(released) > 1 else released)
