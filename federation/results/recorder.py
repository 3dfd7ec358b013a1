"""Recorder federate: samples the recorded outputs at every multiple of time.step into a CSV.

It is time-constrained but not regulating, so it never holds anyone back; at each
grant t it has every value stamped <= t and writes the latest one (zero-order hold).
It also registers the synchronization point that starts the run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable, Sequence

from adapters.stepped import INIT_POINT, Clock
from federation.ambassador import Federate, RTIAmbassador
from federation.rti import callbacks as cb
from federation.rti.time import LogicalTime

RECORDER = "$recorder"  # not an identifier, so it never clashes with a scenario federate


class CsvSink:
    """results.csv written row by row and flushed often, so a failed run keeps what it had."""

    def __init__(self, path: Path, columns: Sequence[str], flush_every: int = 1000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: io.TextIOWrapper = open(path, "w", newline="")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(["time", *columns])
        self._pending = 0
        self._flush_every = flush_every
        self.rows = 0

    def write(self, time: LogicalTime, values: Sequence[float]) -> None:
        # repr() is the shortest exact float text: identical bytes in every runtime.
        self._writer.writerow([repr(time / 1e9), *map(repr, values)])
        self.rows += 1
        self._pending += 1
        if self._pending >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        self._fh.flush()
        self._pending = 0

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


class Recorder(Federate):
    def __init__(
        self,
        variables: Sequence[tuple[str, str]],
        clock: Clock,
        sink: CsvSink,
        on_row: Callable[[LogicalTime], None] | None = None,
    ) -> None:
        self.name = RECORDER
        self.owner = ""
        self.variables = list(variables)
        self.clock = clock
        self.sink = sink
        self.on_row = on_row
        self.values = [float("nan")] * len(self.variables)
        self.time = clock.start
        self._amb: RTIAmbassador | None = None
        self._routes: dict[int, dict[int, int]] = {}
        self._class_routes: dict[int, dict[int, int]] = {}

    def start(self, amb: RTIAmbassador) -> None:
        self._amb = amb
        by_class: dict[str, list[str]] = {}
        for col, (fed, var) in enumerate(self.variables):
            by_class.setdefault(fed, []).append(var)
            cls = amb.fom.object_class(fed)
            self._class_routes.setdefault(cls.handle, {})[cls.member_handles[var]] = col
        for fed, attrs in by_class.items():
            amb.subscribe(fed, attrs)
        amb.enable_time_constrained(latest_values=True)  # rows hold the latest value

    def begin(self) -> None:
        """Start the run once every federate has joined: announce the initialization point."""
        assert self._amb is not None
        self._amb.register_synchronization_point(INIT_POINT)

    def handle(self, callbacks: list[cb.Callback]) -> None:
        amb = self._amb
        assert amb is not None
        for c in callbacks:
            if isinstance(c, cb.ReflectAttributeValues):
                routes = self._routes.get(c.object_handle)
                if routes:
                    for attr, value in c.values.items():
                        col = routes.get(attr)
                        if col is not None:
                            self.values[col] = value
            elif isinstance(c, cb.TimeAdvanceGrant):
                self._row(c.time)
            elif isinstance(c, cb.DiscoverObjectInstance):
                self._routes[c.object_handle] = self._class_routes.get(c.class_handle, {})
            elif isinstance(c, cb.AnnounceSynchronizationPoint):
                amb.synchronization_point_achieved(c.label)
            elif isinstance(c, cb.FederationSynchronized) and c.label == INIT_POINT:
                self._row(self.clock.start)

    def _row(self, t: LogicalTime) -> None:
        assert self._amb is not None
        self.time = t
        self.sink.write(t, self.values)
        if self.on_row is not None:
            self.on_row(t)
        if t >= self.clock.stop:
            self.done = True
            self._amb.resign()
        else:
            self._amb.time_advance_request(t + self.clock.step)

    def close(self) -> None:
        self.sink.close()
