"""The federate loop every runtime shares: hand each ready federate its callbacks until all are done."""

from __future__ import annotations

from typing import Callable, Mapping

from federation.ambassador import Federate
from federation.rti import callbacks as cb


def drive(
    federates: Mapping[int, Federate],
    take_ready: Callable[[], list[int]],
    drain: Callable[[int], list[cb.Callback]],
    on_idle: Callable[[], None],
) -> None:
    """Dispatch callbacks to federates (by handle) until every one is done.

    `take_ready` returns the handles with callbacks waiting (it may block); when it
    returns none, `on_idle` decides: raise (nothing can happen) or carry on waiting.
    """
    remaining = sum(not f.done for f in federates.values())
    while remaining:
        ready = take_ready()
        if not ready:
            on_idle()
            continue
        for handle in ready:
            fed = federates.get(handle)
            if fed is None or fed.done:
                continue
            fed.handle(drain(handle))
            remaining -= fed.done
