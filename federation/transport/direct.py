"""A host's transport in a direct federation: set-up through the RTI, then data and time between hosts.

Until the RTI's routing plan arrives (it comes with the first federation-wide synchronization, once
every member has declared), everything goes through the RTI as with relay routing (GrpcTransport).
From then on this host sends its federates' updates and interactions straight to the hosts that
subscribe to them, and grants their time advances from the promises on its input channels
(federation/rti/channels.py): no value and no grant crosses the RTI, which hears progress reports
and heartbeats only. A broken channel, a message outside the plan or a plan the RTI did not sign is
reported to the RTI, which stops the federation as it does for any failure.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Mapping

from federation.errors import FederationFailed
from federation.protocol import PROTOCOL_VERSION, pb
from federation.rti import callbacks as cb
from federation.rti.channels import NMR, TAR, LocalRTI, PlanViolation
from federation.rti.plan import PlanError, RoutingPlan
from federation.rti.time import LogicalTime
from federation.security.certs import SiteCredentials
from federation.security.plans import PlanNotTrusted, check_plan

from federation.transport.ahead import GaltNotice
from federation.transport.grpc import GrpcTransport, RTIConnection, now_ns
from federation.transport.peers import CLOSE_TIMEOUT, PeerLink, PeerServer, RelayLink, decode

log = logging.getLogger(__name__)

INBOUND_WAIT = 10.0  # s a finished host waits for its peers to close their channels to it
FLUSH_AFTER = 0.005  # s a batch waits for a receiver's next step at most
INBOUND_ROOM = 4096  # messages held for this host's federates beyond which it reads its channels slowly
INBOUND_PAUSE = 0.002  # s each message then waits
DRAIN_IDLE = 0.5  # s without a grant that ends a failed federation's drain (see take_ready)
DRAIN_MAX = 2.0  # s a drain lasts at most: a federate far behind does not hold up the failure's report
LOSS_DELAY = 0.3  # s a broken channel waits for the federation's verdict before it is reported
FAILED_DRAIN = 1.5  # s a host closing after a failure waits for its channels to deliver what is in flight


class DirectTransport(GrpcTransport):
    """GrpcTransport until the routing plan comes; then the host's local RTI and its peer channels."""

    def __init__(self, connection: RTIConnection, site: str, server: PeerServer | None,
                 creds: SiteCredentials | None = None) -> None:
        super().__init__(connection)
        self.site, self.server, self.creds = site, server, creds
        self.local: LocalRTI | None = None
        self._links: dict[str, PeerLink | RelayLink] = {}
        self._before_plan: list[tuple[str, Any]] = []
        self._open_in: set[str] = set()  # sites whose stream to this host is open
        self._finished = False  # every member resigned: links closing, losses expected
        self._flusher: threading.Thread | None = None
        self._draining: FederationFailed | None = None  # the federation failed: see take_ready
        self._drain_ends = 0.0
        self._held_since = 0.0  # monotonic time batches began to wait for a receiver's step; 0: none wait
        cond = connection.cond
        with cond:
            connection.on_plan, connection.on_relay = self._install, self._relayed
            early, connection.early = connection.early, []
            for msg in early:
                kind = msg.WhichOneof("body")
                (self._install if kind == "plan" else self._relayed)(getattr(msg, kind))
        if server is not None:
            server.inbound = self

    # ------------------------------------------------------------ the plan
    def _install(self, signed: Any) -> None:
        """Take the RTI's routing plan (on the connection's reader, under its lock)."""
        conn = self.conn
        try:
            if self.creds is not None:
                check_plan(signed.plan, signed.signature, signed.signer_pem, self.creds.ca)
            plan = RoutingPlan.from_json(signed.plan)
            mine = set(plan.on_site(self.site))
            if mine != set(self._names):
                raise PlanError(f"the routing plan gives site {self.site!r} federate handles {sorted(mine)}, but this "
                                f"host joined {sorted(self._names)}")
        except (PlanNotTrusted, PlanError) as exc:
            log.error("refusing the routing plan: %s", exc)
            handle = min(self._names, default=0)
            conn.send(abort=pb.Abort(federate=handle, reason=f"site {self.site!r} refused the routing plan: {exc}"))
            return
        self.local = local = LocalRTI(plan, self.site)
        self._opening = pb.ChannelMessage(protocol_version=PROTOCOL_VERSION, federation=plan.federation,
                                          from_site=self.site, plan_digest=plan.digest)
        conn.local_ready = local.take_ready
        conn.progress = self._progress
        waiting, self._before_plan = self._before_plan, []
        for site, msg in waiting:
            try:
                self._apply(site, msg)
            except PlanViolation:
                pass  # reported; the RTI's verdict follows (this runs on the connection's reader: it must go on)
        log.info("site %s routes directly by plan %s", self.site, plan.digest[:12])

    def _progress(self) -> dict[str, list[Any]]:
        """A heartbeat's report: where this host's federates are, and the promises it holds from other sites'."""
        local = self.local
        if local is None:
            return {}
        return {"progress": [pb.Progress(federate=m.handle, time=m.time, waiting=m.pending is not None,
                                         pending_time=m.pending[1] if m.pending else 0, messages_out=m.sent,
                                         messages_in=m.received)
                             for m in local.members.values() if not m.resigned],
                "heard": [pb.Promise(federate=h, time=t) for h, t in local.promises.items()]}

    # ------------------------------------------------------------ inbound
    def receive(self, from_site: str, message: Any) -> None:
        """A message on a channel from `from_site` (Peer service thread); PlanViolation refuses it.

        While this host holds more than INBOUND_ROOM messages not yet granted, it reads slowly: the sender's
        stream backs up and it waits for room (PeerLink.wait_room), so a federate with no input does not run
        arbitrarily far ahead of those it feeds. Only slowed, never stopped: no channel's promise is held back."""
        local = self.local
        if local is not None and local.held_messages > INBOUND_ROOM:
            time.sleep(INBOUND_PAUSE)
        with self.conn.cond:
            self._open_in.add(from_site)
            if self.local is None:
                self._before_plan.append((from_site, message))
                return
            self._apply(from_site, message)

    def _apply(self, from_site: str, message: Any) -> None:
        local = self.local
        assert local is not None
        try:
            local.receive(from_site, *decode(message))
        except PlanViolation as exc:
            self._report(from_site, f"site {self.site!r} refused a message from site {from_site!r}: {exc}")
            raise
        self._ship(everything=self.conn.failure is not None)  # draining: the flusher has stopped
        if local.held and not self._held_since:
            self._flush_soon()
        if local.ready:
            self.conn.cond.notify_all()

    def _relayed(self, relay: Any) -> None:
        """A channel message the RTI passed on (on the connection's reader, under its lock)."""
        site = relay.message.from_site
        if self.local is None:
            self._before_plan.append((site, relay.message))
            return
        try:
            self._apply(site, relay.message)
        except PlanViolation:
            pass  # reported; the RTI's verdict follows

    def ended(self, from_site: str, reason: str | None) -> None:
        with self.conn.cond:
            self._open_in.discard(from_site)
            self.conn.cond.notify_all()
            if reason is None and self.local is not None and self.local.site_done(from_site):
                return
            if reason is not None and reason.startswith("refused"):
                return  # reported when refused
            self._lost(from_site, reason or f"site {from_site!r} closed its channel before its federates resigned")

    def _lost(self, site: str, reason: str) -> None:
        """A channel broke. Reported after LOSS_DELAY, unless the federation failed meanwhile: once it fails, its
        hosts end and their channels break, often before the verdict reaches this one, and that is no news."""
        def report() -> None:
            with self.conn.cond:
                if not self._finished and self.conn.failure is None:
                    self._report(site, reason)

        timer = threading.Timer(LOSS_DELAY, report)
        timer.daemon = True
        timer.start()

    def _report(self, site: str, reason: str) -> None:
        log.info("channel with site %s lost: %s", site, reason)  # the RTI's verdict tells it, and every host logs that
        self.conn.send(peer_lost=pb.PeerLost(site=site, reason=reason))

    # ------------------------------------------------------------ outbound
    def _ship(self, everything: bool = False) -> None:
        local = self.local
        assert local is not None
        for site, out in local.take_outgoing(everything).items():
            link = self._links.get(site)
            if link is None and self._finished:
                continue  # closing: no new stream (nothing is owed to a site never sent to)
            if link is None:
                link = self._links[site] = self._link(local.plan, site)
            link.send(out)

    def _link(self, plan: RoutingPlan, site: str) -> PeerLink | RelayLink:
        if plan.relayed(self.site, site):
            return RelayLink(site, self.conn)
        sink = all(plan.federates[h].lookahead is None for h in plan.on_site(site))
        return PeerLink(site, plan.endpoints[site], self.creds, self._opening, self._lost, sink)

    def _flush_soon(self) -> None:
        """Ship what waits for a receiver's next step within FLUSH_AFTER anyway (under the lock): a receiver that
        does not keep to its step (an NMR user, a federate of its own making) then waits that long at most."""
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_held, name="direct-flush", daemon=True)
            self._flusher.start()
        self._held_since = time.monotonic()
        self.conn.cond.notify_all()

    def _flush_held(self) -> None:
        cond = self.conn.cond
        with cond:
            while not self._finished and self.conn.failure is None:
                if not self._held_since:
                    cond.wait(1.0)
                    continue
                left = self._held_since + FLUSH_AFTER - time.monotonic()
                if left > 0:
                    cond.wait(left)
                    continue
                self._held_since = 0.0
                if self.local is not None and self.local.held:
                    self._ship(everything=True)

    # ------------------------------------------------------------ failure
    def take_ready(self, timeout: float) -> list[int]:
        """The host's federates with callbacks waiting (the drive loop's `take_ready`).

        After the federation failed at time T, the federates here go on as far as their inputs allow, up to T,
        before the failure is raised: with direct routing a federate does not wait for the others unless it
        takes their data, so a downstream one may be behind when an upstream one fails. Draining makes every
        routing keep the same rows: those up to T that the federation could complete. The drain ends when
        every federate here waits past T (or left), when no grant came for DRAIN_IDLE, or after DRAIN_MAX
        (then a federate far behind keeps fewer rows than the other routings would).
        """
        if self._draining is None:
            try:
                return self.conn.take_ready(timeout)
            except FederationFailed as verdict:
                if self.local is None:
                    raise
                self._draining = verdict
                self._drain_ends = time.monotonic() + DRAIN_MAX
                with self.conn.cond:
                    self.local.limit = verdict.time
                    self.local.regrant()
                    self._ship(everything=True)
        failed = self._draining
        deadline = min(time.monotonic() + DRAIN_IDLE, self._drain_ends)
        with self.conn.cond:
            local = self.local
            assert local is not None
            while not local.ready or time.monotonic() >= self._drain_ends:
                left = deadline - time.monotonic()
                if left <= 0 or local.drained:
                    raise failed
                self.conn.cond.wait(left)
            return local.take_ready()

    # ------------------------------------------------------------ Transport
    def update_attribute_values(self, handle: int, object_handle: int, values: Mapping[int, float],
                                timestamp: LogicalTime | None = None) -> None:
        local = self.local
        if local is None:
            return super().update_attribute_values(handle, object_handle, values, timestamp)
        with self.conn.cond:
            local.update(handle, object_handle, values, timestamp)
            if timestamp is None:  # receive order: it leaves at once
                self._ship(everything=True)

    def send_interaction(self, handle: int, class_name: str, parameters: Mapping[int, float],
                         timestamp: LogicalTime | None = None) -> None:
        local = self.local
        if local is None:
            return super().send_interaction(handle, class_name, parameters, timestamp)
        cls = self.fom.interaction_class(class_name)
        with self.conn.cond:
            local.send_interaction(handle, cls.handle, parameters, timestamp)
            if timestamp is None:
                self._ship(everything=True)

    def time_advance_request(self, handle: int, time: LogicalTime) -> None:
        if self.local is None:
            return super().time_advance_request(handle, time)
        self._request(handle, time, TAR)

    def next_message_request(self, handle: int, time: LogicalTime) -> None:
        if self.local is None:
            return super().next_message_request(handle, time)
        self._request(handle, time, NMR)

    def _request(self, handle: int, time: LogicalTime, kind: str) -> None:
        local = self.local
        assert local is not None
        self._requested[handle] = now_ns()
        with self.conn.cond:
            local.request(handle, time, kind)
            self._ship(everything=self._draining is not None)  # draining: no flusher any more
            if not local.held:
                self._held_since = 0.0
            elif not self._held_since:
                self._flush_soon()
            links = list(self._links.values())
        for link in links:  # outside the lock: this host's inbound channels keep flowing meanwhile
            link.wait_room()

    def drain(self, handle: int) -> list[cb.Callback]:
        local = self.local
        if local is None:
            return super().drain(handle)
        with self.conn.cond:
            out = [c for c in self.conn.drain(handle) if not isinstance(c, GaltNotice)]
            out += local.drain(handle)
        if out and isinstance(out[-1], cb.TimeAdvanceGrant) and handle in self._requested:
            self._granted(handle, out[-1].time)
        return out

    def drain_below_galt(self, handle: int) -> tuple[list[cb.Callback], LogicalTime | None]:
        local = self.local
        if local is None:
            return super().drain_below_galt(handle)
        with self.conn.cond:
            out = [c for c in self.conn.drain(handle) if not isinstance(c, GaltNotice)]
            more, galt = local.drain_below_galt(handle)
        return out + more, galt

    def _settled(self) -> bool:
        """After a failure at time T: whether every time-constrained federate here has a safe GALT past T, so that
        nothing still in flight can change what it may write up to T."""
        local, t = self.local, getattr(self.conn.failure, "time", None)
        if local is None or t is None:
            return False
        return all(local.galt(m) > t for m in local.members.values() if m.constrained and not m.resigned)

    def resign(self, handle: int) -> None:
        local = self.local
        if local is not None:
            with self.conn.cond:
                local.resign(handle)
                self._ship(everything=True)
                self._finished = all(m.resigned for m in local.members.values())
        super().resign(handle)

    def close(self) -> None:
        """End this host's channels: its own streams (after what is queued), then, once its peers have closed
        theirs to it (or INBOUND_WAIT passed), its Peer service.

        Once the federation failed, each wait is FAILED_DRAIN at most (a peer may be gone or frozen), yet what
        is in flight still arrives both ways: what the peers sent before the verdict is what this host's
        recorder can still write (Recorder.salvage: every row below its last safe GALT). Its wait ends as soon
        as nothing more can change that, up to the failure's time (`_settled`)."""
        with self.conn.cond:
            self._finished = True
            if self.local is not None:
                self._ship(everything=True)
            links = list(self._links.values())
            failed = self.conn.failure is not None
        for link in links:
            link.finish()
        deadline = time.monotonic() + (FAILED_DRAIN if failed else CLOSE_TIMEOUT)
        for link in links:
            link.close(max(0.0, deadline - time.monotonic()))
        failed = self.settle(FAILED_DRAIN if failed else INBOUND_WAIT)
        if self.server is not None:
            self.server.stop(0.0 if failed else 1.0)  # after a failure, a stream still open is a lost peer's

    def settle(self, timeout: float = FAILED_DRAIN) -> bool:
        """Wait until the peers have closed their channels to this host, `timeout` at most (FAILED_DRAIN once the
        federation failed; then it also ends as soon as nothing in flight can change what this host may write up
        to the failure's time: `_settled`). After a failure the hosts still running ship what they held before
        they close, and this host takes it first. Returns whether the federation failed."""
        deadline = time.monotonic() + timeout
        failed = self.conn.failure is not None
        with self.conn.cond:
            while self._open_in and (left := deadline - time.monotonic()) > 0:
                if not failed and self.conn.failure is not None:
                    failed, deadline = True, min(deadline, time.monotonic() + FAILED_DRAIN)
                    continue
                if failed and self._settled():
                    break
                self.conn.cond.wait(min(left, 0.05) if failed else left)  # promises arrive without a notice
        return failed
