"""Time-stepped federate protocol shared by every adapter: Jacobi coupling with lookahead = step.

At granted time t a federate holds the inputs stamped <= t (latest wins), steps to
t + h, publishes its outputs stamped t + h (allowed by lookahead h) and requests
TAR(t + h). Initial outputs travel once, in receive order, before a synchronization
point that every federate achieves before its first step.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any, Callable, Mapping, Sequence

from federation.ambassador import Federate, LogicalTime, RTIAmbassador, cb, to_seconds
from federation.coupling import END_INTERACTION, END_REASONS, INIT_POINT, Clock, Conversion, Wiring, convert
from federation.errors import ModelError

log = logging.getLogger(__name__)


class SimulationTerminated(ModelError, RuntimeError):
    """A model asked to end the simulation and the scenario says `on_terminate: fail`."""


class SteppedFederate(Federate):
    """Base of FMU, Python-model and replay federates: the same protocol, different models.

    A model may ask to end the simulation: its step then sets `ending` to (the logical time it reached,
    a key of END_REASONS) and returns its outputs at that time. The federate publishes them, tells the
    recorder (END_INTERACTION) and resigns, unless its clock says `on_terminate: fail`.
    """

    may_end = False  # kinds whose models can ask to end the simulation publish END_INTERACTION

    def __init__(self, name: str, site: str, outputs: Sequence[str], clock: Clock, wiring: Wiring) -> None:
        self.name = name
        self.site = site
        self.outputs = list(outputs)
        self.clock = clock
        self._stop, self._step = clock.stop, clock.step  # read on every step
        self.wiring = wiring
        self.inputs: dict[str, float] = {}
        self.changed: dict[str, float] = {}  # inputs changed since the last step
        self.outbox: list[tuple[str, dict[str, float]]] = []  # interactions to send after a step
        self.time: LogicalTime = clock.start
        self.steps = 0
        self.ending: tuple[LogicalTime, int] | None = None  # set by step(): the model asked to end (time, reason)
        self._amb: RTIAmbassador | None = None
        self._object = 0
        self._attr_handles: list[int] = []
        self._routes: dict[int, dict[int, list[str]]] = {}  # object -> attribute -> inputs
        self._class_routes: dict[int, dict[int, list[str]]] = {}  # class -> attribute -> inputs
        self._interaction_routes: dict[int, dict[int, list[str]]] = {}
        # input -> its connection's unit conversion; None when no input converts (the common case, kept fast)
        self._conversions = dict(wiring.conversions) or None

    # --------------------------------------------------------------- model API
    @abstractmethod
    def initial_outputs(self) -> Sequence[float]:
        """Outputs at the start time, after initialization, in `self.outputs` order."""

    @abstractmethod
    def step(self, t: LogicalTime, h: LogicalTime) -> Sequence[float]:
        """Advance from t to t + h using `self.inputs` / `self.changed`; return outputs at t + h."""

    # ------------------------------------------------------------ the protocol
    def start(self, amb: RTIAmbassador) -> None:
        self._amb = amb
        fom = amb.fom
        if self.outputs:
            amb.publish(self.name, self.outputs)
            self._object = amb.register_object_instance(self.name, self.name)
            self._attr_handles = [fom.object_class(self.name).member_handles[o] for o in self.outputs]
        by_class: dict[str, list[str]] = {}
        for (cls_name, attr), targets in self.wiring.attributes.items():
            by_class.setdefault(cls_name, []).append(attr)
            cls = fom.object_class(cls_name)
            self._class_routes.setdefault(cls.handle, {})[cls.member_handles[attr]] = targets
        for cls_name, attrs in by_class.items():
            amb.subscribe(cls_name, attrs)
        for (cls_name, param), targets in self.wiring.interactions.items():
            icls = fom.interaction_class(cls_name)
            self._interaction_routes.setdefault(icls.handle, {})[icls.member_handles[param]] = targets
        for cls_name in {c for c, _ in self.wiring.interactions}:
            amb.subscribe_interaction(cls_name)
        for cls_name in self.wiring.publishes_interactions:
            amb.publish_interaction(cls_name)
        if self.may_end and self.clock.on_terminate != "fail":
            amb.publish_interaction(END_INTERACTION)
        amb.enable_time_regulation(self.clock.step)
        amb.enable_time_constrained(latest_values=True)  # inputs hold the latest value: see handle

    def handle(self, callbacks: list[cb.Callback]) -> None:
        inputs, changed, conversions = self.inputs, self.changed, self._conversions
        for c in callbacks:
            # The callbacks of every step are tested first, without a handler call.
            kind = type(c)
            if kind is _REFLECT:
                routes, values = self._routes.get(c.object_handle), c.values  # type: ignore[union-attr]
            elif kind is _GRANT:
                self._advance(c.time)  # type: ignore[union-attr]
                continue
            elif kind is _INTERACTION:
                routes, values = self._interaction_routes.get(c.class_handle), c.parameters  # type: ignore[union-attr]
            else:
                handler = _HANDLERS.get(kind)
                if handler is not None:
                    handler(self, c)
                continue
            if routes:
                # `values` may be shared with other receivers: read it, never mutate it.
                if conversions is not None:
                    self._receive_converted(routes, values, conversions)
                    continue
                for handle, value in values.items():
                    for name in routes.get(handle, ()):
                        inputs[name] = value
                        changed[name] = value

    def _receive_converted(self, routes: dict[int, list[str]], values: Mapping[int, Any],
                           conversions: dict[str, Conversion]) -> None:
        """handle's delivery when some inputs convert units: the value in the input's unit, where it is
        received (the wire and the recorded columns keep the sender's value in the sender's unit)."""
        inputs, changed = self.inputs, self.changed
        for handle, value in values.items():
            for name in routes.get(handle, ()):
                conversion = conversions.get(name)
                inputs[name] = changed[name] = value if conversion is None else convert(conversion, value)

    def _on_discover(self, c: cb.DiscoverObjectInstance) -> None:
        self._routes[c.object_handle] = self._class_routes.get(c.class_handle, {})

    def _on_announce(self, c: cb.AnnounceSynchronizationPoint) -> None:
        if c.label == INIT_POINT:
            self._publish(self.initial_outputs(), None)
            self._require_amb().synchronization_point_achieved(INIT_POINT)

    def _on_synchronized(self, c: cb.FederationSynchronized) -> None:
        if c.label == INIT_POINT:
            self._advance(self.clock.start)

    def _advance(self, t: LogicalTime) -> None:
        amb = self._amb
        assert amb is not None, "grants arrive only after start()"
        self.time = t
        if t >= self._stop:
            self.done = True
            amb.resign()
            return
        h = self._step
        outputs = self.step(t, h)
        self.changed.clear()
        self.steps += 1
        t_next = t + h
        if self.ending is not None:
            self._end(amb, outputs, t_next)
            return
        handles = self._attr_handles
        if len(handles) == 1:  # _send's common case, inline
            amb.update(self._object, {handles[0]: outputs[0]}, t_next)
        else:
            self._send(amb, outputs, t_next)
        if self.outbox:
            for cls_name, params in self.outbox:
                amb.send_interaction(cls_name, params, t_next)
            self.outbox.clear()
        amb.time_advance_request(t_next)

    def _end(self, amb: RTIAmbassador, outputs: Sequence[float], t_next: LogicalTime) -> None:
        """The model asked to end the simulation during the step to t_next: publish where it got, tell the
        recorder, resign (or fail, if the scenario says so)."""
        assert self.ending is not None
        end, reason = self.ending
        words = END_REASONS.get(reason, "the model asked to end the simulation")
        if self.clock.on_terminate == "fail":
            raise SimulationTerminated(f"federate {self.name!r} at t={to_seconds(end)} s: {words} "
                                       "(the scenario says on_terminate: fail)")
        # Its values at `end`, stamped with the step's end: its lookahead allows no earlier stamp.
        self._send(amb, outputs, t_next)
        for cls_name, params in self.outbox:
            amb.send_interaction(cls_name, params, t_next)
        self.outbox.clear()
        stop = self.clock.on_terminate == "stop"
        amb.send_interaction(END_INTERACTION, {"back": float(t_next - end), "reason": float(reason),
                                               "stop": float(stop)}, t_next)
        log.info("federate %s ends at t=%s s: %s%s", self.name, to_seconds(end), words,
                 "" if stop else "; the others run on with its last outputs (on_terminate: continue)")
        self.done = True
        amb.resign()

    def _publish(self, outputs: Sequence[float], timestamp: LogicalTime | None) -> None:
        self._send(self._require_amb(), outputs, timestamp)

    def _send(self, amb: RTIAmbassador, outputs: Sequence[float], timestamp: LogicalTime | None) -> None:
        handles = self._attr_handles
        if handles:
            amb.update(self._object, dict(zip(handles, outputs)), timestamp)

    def _require_amb(self) -> RTIAmbassador:
        if self._amb is None:
            raise RuntimeError(f"federate {self.name!r} has not been started")
        return self._amb


_REFLECT, _GRANT, _INTERACTION = cb.ReflectAttributeValues, cb.TimeAdvanceGrant, cb.ReceiveInteraction
# Handlers of the rarer callbacks by exact type: one dict lookup instead of an isinstance chain.
# Unbound functions, so that federates hold no reference cycles through bound methods.
_HANDLERS: dict[type, Callable[[SteppedFederate, Any], None]] = {
    cb.DiscoverObjectInstance: SteppedFederate._on_discover,
    cb.AnnounceSynchronizationPoint: SteppedFederate._on_announce,
    cb.FederationSynchronized: SteppedFederate._on_synchronized,
}
