"""The RTI watchdog's blame rules, on a federation state driven directly (no network)."""

from __future__ import annotations

import time

from federation.rti import FOM, RTI
from federation.runtime.rti_state import FederationState, HostSession, Limits


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
