"""The RTI watchdog's blame rules, on a federation state driven directly (no network)."""

from __future__ import annotations

import time

from federation.rti import FOM, RTI
from federation.server.federations import FederationState
from federation.server.limits import Limits
from federation.server.sessions import HostSession


def state_with(names: list[str], site: str = "gamma") -> tuple[FederationState, HostSession, dict[str, int]]:
    ex = RTI().create_federation_execution("w", FOM({n: ["y"] for n in names}))
    state = FederationState(ex, grant_timeout=1.0)
    session = HostSession(peer="test", site=site, federation=state)
    handles = {}
    for n in names:
        h = handles[n] = ex.join(n)
        ex.enable_time_regulation(h, 1)
        ex.enable_time_constrained(h)
        state.sessions[h], state.sites[h], state.names[h] = session, site, n
    state.all_sessions.append(session)
    return state, session, handles


def test_grant_timeout_blames_the_federate_its_host_reports_busy() -> None:
    state, session, h = state_with(["aaa", "mid", "waiter"])
    state.execution.time_advance_request(h["waiter"], 1)  # someone waits; aaa and mid are idle at 0
    session.busy = h["mid"]
    state.last_progress = time.monotonic() - 10
    state.check_liveness(time.monotonic(), Limits(heartbeat_timeout=1e9))
    assert state.state == "failed" and state.failure.federate == "mid" and state.failure.host == "gamma"
    assert "grant timeout" in state.failure.reason


def test_without_a_busy_report_the_earliest_idle_federate_is_named() -> None:
    state, session, h = state_with(["aaa", "mid", "waiter"])
    state.execution.time_advance_request(h["waiter"], 1)
    state.last_progress = time.monotonic() - 10
    state.check_liveness(time.monotonic(), Limits(heartbeat_timeout=1e9))
    assert state.failure.federate == "aaa"


def test_no_failure_before_the_grant_timeout() -> None:
    state, session, h = state_with(["aaa", "waiter"])
    state.execution.time_advance_request(h["waiter"], 1)
    state.check_liveness(time.monotonic(), Limits(heartbeat_timeout=1e9))
    assert state.state == "running"


def test_a_reported_failure_blames_its_reporter_whatever_its_words_say() -> None:
    from federation.protocol.codec import failure_from_pb

    state, _, h = state_with(["victim", "liar"])
    state.fail(h["liar"], "federate 'victim' at t=3.0 s: doStep failed", reported=True)
    failed = failure_from_pb(state.failure)
    assert (failed.federate, failed.host) == ("liar", "gamma")
    assert str(failed).startswith("federate 'liar' on host 'gamma' at t=0.0 s: federate 'victim'"), str(failed)
    assert state.status().error == str(failed)


def test_a_reported_failure_is_shown_as_reported_when_it_names_its_federate_and_is_bounded() -> None:
    from federation.protocol.codec import failure_from_pb

    state, _, h = state_with(["honest"])
    state.fail(h["honest"], "federate 'honest': step at t=0.0 s raised ValueError: " + "x" * 1_000_000, reported=True)
    text = str(failure_from_pb(state.failure))
    assert text.startswith("federate 'honest': step at t=0.0 s raised ValueError: xxx") and len(text) < 70_000
