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


# ------------------------------------------------------------ direct routing: hosts grant, the RTI hears progress
def direct_state() -> tuple[FederationState, dict[str, HostSession], dict[str, int]]:
    """src (alpha) -> mid (beta) -> rec (gamma), rec also recording src: a routed federation whose plan is sent."""
    ex = RTI().create_federation_execution("d", FOM({n: ["y"] for n in ("src", "mid", "rec")}))
    state = FederationState(ex, grant_timeout=1.0)
    sessions, handles = {}, {}
    for name, site, inputs in (("src", "alpha", []), ("mid", "beta", ["src"]), ("rec", "gamma", ["src", "mid"])):
        h = handles[name] = ex.join(name)
        ex.publish_object_class_attributes(h, name, ["y"])
        ex.register_object_instance(h, name, name)
        for source in inputs:
            ex.subscribe_object_class_attributes(h, source, ["y"])
        ex.enable_time_regulation(h, 1)
        ex.enable_time_constrained(h)
        session = sessions[site] = HostSession(peer=site, site=site, federation=state, handles={h})
        state.sessions[h], state.sites[h], state.names[h] = session, site, name
        state.all_sessions.append(session)
    state.plan = state.direct_plan()
    return state, sessions, handles


def report(state: FederationState, site: str, handle: int, t: int, waiting: bool = False,
           advanced_at: float | None = None) -> None:
    """A heartbeat's progress from `site`'s host: `handle` at `t` (waiting for t + 1), its time last grown at
    `advanced_at` (default: now)."""
    from federation.protocol import pb

    session = next(s for s in state.all_sessions if s.site == site)
    state.report_progress([pb.Progress(federate=handle, time=t, waiting=waiting, pending_time=t + 1 if waiting else 0)],
                          session.handles)
    if advanced_at is not None and handle in state.advanced:
        state.advanced[handle] = advanced_at


def test_direct_a_stuck_federate_is_named_though_others_run_ahead() -> None:
    """mid is stuck in its step at 7, rec waits on it; src, which waits on no one, keeps advancing: no
    federation-wide silence, yet mid is named by the grant timeout."""
    state, sessions, h = direct_state()
    now = time.monotonic()
    report(state, "beta", h["mid"], 7, advanced_at=now - 5)
    report(state, "gamma", h["rec"], 6, waiting=True, advanced_at=now - 5)
    report(state, "alpha", h["src"], 900)
    sessions["beta"].busy = h["mid"]
    state.check_liveness(now, Limits(heartbeat_timeout=1e9))
    assert state.state == "failed" and (state.failure.federate, state.failure.host) == ("mid", "beta")
    assert state.failure.time == 7 and "grant timeout" in state.failure.reason


def test_direct_a_waiter_whose_senders_advance_is_not_stalled() -> None:
    state, sessions, h = direct_state()
    now = time.monotonic()
    report(state, "gamma", h["rec"], 6, waiting=True, advanced_at=now - 5)  # waits long, but on senders that move
    report(state, "beta", h["mid"], 7)
    report(state, "alpha", h["src"], 900)
    state.check_liveness(now, Limits(heartbeat_timeout=1e9))
    assert state.state == "running"


def test_direct_progress_of_another_hosts_federate_is_ignored() -> None:
    state, sessions, h = direct_state()
    report(state, "alpha", h["mid"], 500)  # alpha speaks for beta's mid
    assert h["mid"] not in state.progress and state.time_of(h["mid"]) == 0


def test_direct_a_lost_host_is_named_after_the_grace_at_the_time_its_peers_all_heard() -> None:
    """beta's host is gone: its last report said t=3, but what its peers heard since says more; the least of
    what they heard is the time up to which every one of them has what mid sent."""
    from federation.protocol import pb

    state, sessions, h = direct_state()
    report(state, "beta", h["mid"], 3)
    state.hear_promises([pb.Promise(federate=h["mid"], time=41)], sessions["gamma"].handles, "gamma")
    state.hear_promises([pb.Promise(federate=h["mid"], time=99)], sessions["alpha"].handles, "alpha")  # not a receiver
    state.hear_promises([pb.Promise(federate=h["src"], time=60)], sessions["beta"].handles, "beta")
    state.lose(h["mid"], "stream closed by the host", after=0.5)
    del state.sessions[h["mid"]]
    now = time.monotonic()
    state.check_liveness(now, Limits(heartbeat_timeout=1e9))
    assert state.state == "running"  # its peers may still say how far it came
    state.check_liveness(now + 1, Limits(heartbeat_timeout=1e9))
    assert state.state == "failed" and (state.failure.federate, state.failure.host) == ("mid", "beta")
    assert state.failure.time == 40  # gamma heard 41: mid had reached (or asked for) 41 - its lookahead


def test_direct_a_federate_stuck_in_its_step_is_named_rather_than_the_one_its_host_cannot_step_meanwhile() -> None:
    """beta's host steps a second federate for ever: mid, on the same host, gets no callbacks and rec waits on it."""
    state, sessions, h = direct_state()
    slow = state.execution.join("slow")
    state.sessions[slow], state.sites[slow], state.names[slow] = sessions["beta"], "beta", "slow"
    sessions["beta"].handles.add(slow)
    now = time.monotonic()
    report(state, "beta", h["mid"], 7, advanced_at=now - 5)
    report(state, "beta", slow, 7, advanced_at=now - 5)
    report(state, "gamma", h["rec"], 6, waiting=True, advanced_at=now - 5)
    report(state, "alpha", h["src"], 900)
    sessions["beta"].busy = slow
    state.check_liveness(now, Limits(heartbeat_timeout=1e9))
    assert state.state == "failed" and (state.failure.federate, state.failure.host) == ("slow", "beta")
