"""The federate loop every runtime shares: hand each ready federate its callbacks until all are done."""

from __future__ import annotations

from typing import Callable, Mapping

from federation.ambassador import Federate
from federation.errors import FederationEnded, FederationFailed, LinkLost
from federation.clip import clip
from federation.rti import callbacks as cb
from federation.rti.time import LogicalTime, to_seconds


def drive(
    federates: Mapping[int, Federate],
    take_ready: Callable[[], list[int]],
    drain: Callable[[int], list[cb.Callback]],
    on_idle: Callable[[], None],
    on_failure: Callable[[int, FederationFailed], None] | None = None,
    ended: Callable[[], bool] | None = None,
) -> None:
    """Dispatch callbacks to federates (by handle) until every one is done, or `ended` says the run ended
    (a model asked to end the simulation and the recorder has every row up to it).

    `take_ready` returns the handles with callbacks waiting (it may block); when it
    returns none, `on_idle` decides: raise (nothing can happen) or carry on waiting.
    A federate that raises fails the federation: `on_failure` hears of it (a host tells
    the RTI), then the error is raised as a FederationFailed, reported in the same words
    in every mode.
    """
    remaining = sum(not f.done for f in federates.values())
    while remaining and not (ended is not None and ended()):
        ready = take_ready()
        if not ready:
            on_idle()
            continue
        for handle in ready:
            fed = federates.get(handle)
            if fed is None or fed.done:
                continue
            try:
                fed.handle(drain(handle))
            except (FederationFailed, FederationEnded, LinkLost):
                raise  # the federation's verdict or end, or the link to the RTI: not this federate's own failure
            except Exception as exc:
                failure = federate_failed(fed, exc)
                if on_failure is not None:
                    on_failure(handle, failure)
                raise failure from exc
            remaining -= fed.done


def federate_failed(fed: Federate, exc: Exception) -> FederationFailed:
    """The failure of a federate that raised, at its logical time; its message names the federate."""
    return failure_of(fed.name, fed.site, fed.time, exc)


REASON_LIMIT = 64 * 1024  # characters of a failure's reason: it travels in one message and in run.json


def failure_of(name: str, site: str, time: LogicalTime, exc: Exception) -> FederationFailed:
    """Federate `name` of site `site` failed at `time` raising `exc`, in words that name it."""
    reason = clip(str(exc), REASON_LIMIT)
    if not reason.startswith(f"federate {name!r}"):  # adapters' errors do; anything else is told where
        reason = f"federate {name!r} at t={to_seconds(time)} s: {type(exc).__name__}: {reason}"
    return FederationFailed(name, site, time, reason, reported=True)
