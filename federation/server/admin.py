"""The registry of federation executions and the admin service over it: create, list, inspect, destroy.

Its watchdog applies each federation's failure rules (federations.py) and reaps the ended ones.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

import grpc

from federation import telemetry
from federation.protocol import PROTOCOL_VERSION, pb, pb_grpc
from federation.protocol.codec import fom_from_pb
from federation.rti import RTI, errors as E
from federation.security.guard import Guard
from federation.security.policy import PermissionDenied
from federation.security.refusals import RefusalLog

from federation.server.checks import check_names, check_routing
from federation.server.federations import FederationState
from federation.server.limits import Limits
from federation.server.wire import status_to_pb

log = logging.getLogger("federation.server.service")  # one logger for the whole service, as before the split


class AdminService(pb_grpc.AdminServicer):  # type: ignore[misc, name-defined]
    """The federations on this server, their watchdog, and the admin service over them."""

    def __init__(self, limits: Limits | None = None, guard: Guard | None = None) -> None:
        self.limits = limits or Limits()
        self.guard = guard or Guard()
        self.rti = RTI()
        self.refusals = RefusalLog(log)
        # gRPC's peer string of a connection -> the client's address (the connection gate's map, if any)
        self.peer_of: Callable[[str], str] = lambda peer: peer
        self.federations: dict[str, FederationState] = {}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="rti-watchdog", daemon=True)
        self._watchdog.start()
        m = telemetry.meter()
        m.create_observable_counter("federation.messages", [lambda _: self._observe("messages")],
                                    unit="1", description="messages received per federate")
        m.create_observable_counter("federation.bytes", [lambda _: self._observe("bytes")],
                                    unit="By", description="bytes received per federate")

    def _observe(self, what: str) -> list[Any]:
        from opentelemetry.metrics import Observation

        with self.lock:
            states = list(self.federations.values())
        out = []
        for state in states:
            with state.lock:
                for handle, st in state.stats.items():
                    attrs = {"federation": state.name, "federate": state.names.get(handle, ""),
                             "site": state.sites.get(handle, "")}
                    out.append(Observation(getattr(st, what), attrs))
        return out

    def stop(self) -> None:
        self._stop.set()

    def CreateFederation(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check_version(request.protocol_version, context)
        site = self._admit(context, "create", request.name)
        if not (math.isfinite(request.grant_timeout_s) and request.grant_timeout_s >= 0):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"grant_timeout_s must be a finite number >= 0 (0 = the server's), got {request.grant_timeout_s}")
        try:
            check_names(request, self.limits.max_name_length)
            routing = check_routing(request, self.limits.max_name_length)
            fom = fom_from_pb(request.fom)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self.lock:
            old = self.federations.get(request.name)
            if old is not None:
                with old.lock:
                    # A finished or failed run's name is free again at once: re-running a scenario
                    # must not wait for the reaper. Its status goes with it.
                    if old.state != "running":
                        self._drop(old, f"federation execution {request.name!r} ({old.state}) was replaced "
                                        f"by a new one created by site {site!r}")
            try:
                execution = self.rti.create_federation_execution(request.name, fom, request.start_time)
            except E.FederationExecutionAlreadyExists as exc:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, str(exc))
            except (E.RTIError, ValueError) as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            state = FederationState(execution, request.grant_timeout_s or self.limits.grant_timeout,
                                    self.limits.max_callbacks_bytes)
            state.scenario_digest = request.scenario_digest
            state.routing, state.relay_sites = routing, frozenset(request.relay_sites)
            self.federations[request.name] = state
        log.info("created federation %s", request.name)
        self.guard.record("create", federation=request.name, site=site)
        return status_to_pb(state.status())

    def ListFederations(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            return pb.ListFederationsReply(names=sorted(self.guard.visible(context, list(self.federations))))

    def InspectFederation(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._admit(context, "inspect", request.name)
        state = self._federation(request.name, context)
        with state.lock:
            return status_to_pb(state.status())

    def DestroyFederation(self, request: Any, context: grpc.ServicerContext) -> Any:
        site = self._admit(context, "destroy", request.name)
        state = self._federation(request.name, context)
        with self.lock, state.lock:
            if self.federations.get(request.name) is not state:  # reaped or replaced meanwhile
                context.abort(grpc.StatusCode.NOT_FOUND, f"federation execution {request.name!r} does not exist")
            try:
                self._drop(state, f"federation execution {request.name!r} was destroyed by site {site!r}",
                           force=state.state != "running")
            except E.FederatesCurrentlyJoined as exc:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        self.guard.record("destroy", federation=request.name, site=site)
        return pb.DestroyReply()

    def _drop(self, state: FederationState, reason: str, force: bool = True) -> None:
        """Forget a federation (under self.lock and its lock); its open sessions end ABORTED with `reason`."""
        self.rti.destroy_federation_execution(state.name, force=force)
        del self.federations[state.name]
        for session in state.all_sessions:
            session.close(grpc.StatusCode.ABORTED, reason)
        log.info("%s", reason)

    def _admit(self, context: grpc.ServicerContext, action: str, federation: str) -> str:
        """The admin caller's site, once the policy allows `action` on `federation` (else PERMISSION_DENIED)."""
        try:
            return self.guard.authorize_admin(context, action, federation)
        except PermissionDenied as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
            raise  # abort raises; this line keeps the type checker informed

    def _federation(self, name: str, context: grpc.ServicerContext) -> FederationState:
        with self.lock:
            state = self.federations.get(name)
        if state is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"federation execution {name!r} does not exist")
        assert state is not None
        return state

    def _check_version(self, version: int, context: grpc.ServicerContext) -> None:
        if version != PROTOCOL_VERSION:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"protocol version {version} is not supported; this RTI speaks version {PROTOCOL_VERSION}")

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            with self.lock:
                states = list(self.federations.values())
            now = time.monotonic()
            for state in states:
                with state.lock:
                    state.check_liveness(now, self.limits)
                    expired = state.state != "running" and now - state.ended_at > self.limits.reap_after
                if expired:
                    self._reap(state)

    def _reap(self, state: FederationState) -> None:
        with self.lock, state.lock:
            if self.federations.get(state.name) is state:  # not destroyed or replaced meanwhile
                self._drop(state, f"federation execution {state.name!r} was removed "
                                  f"{self.limits.reap_after:g} s after it {state.state}")
