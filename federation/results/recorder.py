"""Recorder federate: samples the recorded outputs at every multiple of time.step into a CSV.

It is time-constrained but not regulating, so it never holds anyone back. The row at t
holds the latest value stamped <= t (zero-order hold). Reflections arrive one by one in
timestamp order, so the recorder asks for several rows per time advance and writes each
row once a later message or the grant shows it complete: fewer round trips in the
distributed modes, the same bytes. After a failure it writes every row below the last
safe GALT, which no message can change any more. It also registers the synchronization
point that starts the run.

A federate whose model asks to end the simulation sends it END_INTERACTION, stamped with the end of
its step: the recorder then writes the rows up to the time the model reached (its last one there, on
the step grid or not) and ends the run (`ended`), or notes it if the others run on (`terminated`).
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Callable, Mapping, Sequence

from federation.coupling import END_INTERACTION, END_REASONS, INIT_POINT, Clock
from federation.ambassador import Federate, RTIAmbassador
from federation.names import RECORDER
from federation.rti import callbacks as cb
from federation.rti.time import LogicalTime, to_seconds

log = logging.getLogger(__name__)

ROWS_PER_REQUEST = 16  # rows asked for per time advance: fewer round trips in the distributed modes


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

    def keep_rows(self, count: int) -> None:
        """Drop every row after the first `count` (a failed run's rows past its failure)."""
        if self.rows <= count:
            return
        self.flush()
        with open(self._fh.name, "rb") as fh:
            fh.readline()  # the header
            for _ in range(count):
                fh.readline()
            end = fh.tell()
        self._fh.truncate(end)
        self._fh.seek(end)
        self.rows = count

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
        rows_per_request: int | None = None,
        steps: Mapping[str, LogicalTime] | None = None,
    ) -> None:
        """`steps`: each federate's step, which bounds how far before its stamp a request to end may lie."""
        self.name = RECORDER
        self.site = ""
        self.variables = list(variables)
        self.clock = clock
        self.sink = sink
        self.on_row = on_row
        self.rows_per_request = max(1, ROWS_PER_REQUEST if rows_per_request is None else rows_per_request)
        self.values = [float("nan")] * len(self.variables)
        self.time = clock.start
        span = max(clock.stop - clock.start, 0)
        self._last_row = clock.start + -(-span // clock.step) * clock.step  # the first multiple at or past stop
        self._next_row: LogicalTime | None = None  # the next row to write; None before the start and after the last
        self._amb: RTIAmbassador | None = None
        self._consistent = True  # False while a batch is half taken: salvage must not add to it
        self.ended: dict[str, object] | None = None  # who ended the run, when and why (run.json `ended_by`)
        self.terminated: list[dict[str, object]] = []  # models that ended while the others ran on
        self._steps = dict(steps or {})
        self.end_time: LogicalTime = clock.stop  # where the run ends: its stop time, or where a model ended it
        self._end_class: int | None = None
        self._end_params: dict[int, str] = {}
        self._stamp: LogicalTime | None = None  # the timestamp of the last reflection taken
        self._before_stamp: list[float] = []  # the values as they were before it
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
        end = amb.fom.interaction_class(END_INTERACTION)
        self._end_class, self._end_params = end.handle, {h: n for n, h in end.member_handles.items()}
        amb.subscribe_interaction(END_INTERACTION)
        amb.enable_time_constrained()  # every reflection, not merged: rows between grants need them

    def begin(self) -> None:
        """Start the run once every federate has joined: announce the initialization point."""
        assert self._amb is not None
        self._amb.register_synchronization_point(INIT_POINT)

    def handle(self, callbacks: list[cb.Callback]) -> None:
        self._take(callbacks, request=True)

    def salvage(self, until: LogicalTime | None = None) -> None:
        """After a failure: write every row that nothing can change any more, and stop.

        `until`: the logical time of the federate that failed. Every row up to it is complete
        when it fails (it was granted that time), and rows past it are dropped, even those
        written already: how far the others got by then depends on timing, so every mode
        keeps the same rows.
        """
        if self._amb is not None and self._consistent:  # else interrupted mid-batch: the values may not match
            try:
                callbacks, galt = self._amb.final_callbacks()
                self._take(callbacks, request=False)
                if galt is not None:
                    self._rows_before(galt)
            except Exception:  # the original error is the one to report
                log.debug("nothing more to salvage", exc_info=True)
        if until is not None and until < self.time:
            kept = max(0, (until - self.clock.start) // self.clock.step + 1)
            self.sink.keep_rows(kept)
            self.time = self.clock.start + max(0, kept - 1) * self.clock.step

    def _take(self, callbacks: list[cb.Callback], request: bool) -> None:
        self._consistent = False
        advance = False  # calls into the RTI wait until the whole batch is taken
        achieved: list[str] = []
        for c in callbacks:
            if isinstance(c, cb.ReflectAttributeValues):
                if c.timestamp is not None:
                    self._rows_before(c.timestamp)  # TSO order: every row before it is complete
                    if c.timestamp != self._stamp:  # what a model that returned early before it held
                        self._stamp, self._before_stamp = c.timestamp, self.values[:]
                routes = self._routes.get(c.object_handle)
                if routes:
                    for attr, value in c.values.items():
                        col = routes.get(attr)
                        if col is not None:
                            self.values[col] = value
            elif isinstance(c, cb.TimeAdvanceGrant):
                self._rows_before(c.time + 1)
                advance = True
            elif isinstance(c, cb.ReceiveInteraction) and c.class_handle == self._end_class and c.timestamp is not None:
                self._on_end(c, c.timestamp)
            elif isinstance(c, cb.DiscoverObjectInstance):
                self._routes[c.object_handle] = self._class_routes.get(c.class_handle, {})
            elif isinstance(c, cb.AnnounceSynchronizationPoint):
                achieved.append(c.label)
            elif isinstance(c, cb.FederationSynchronized) and c.label == INIT_POINT:
                self._next_row = self.clock.start
                self._rows_before(self.clock.start + 1)
                advance = True
        self._consistent = True
        if request:
            assert self._amb is not None
            for label in achieved:
                self._amb.synchronization_point_achieved(label)
            if advance or (self.ended is not None and self._next_row is None and not self.done):
                self._request()

    def _on_end(self, c: cb.ReceiveInteraction, stamp: LogicalTime) -> None:
        """A model asked to end the simulation at `time` <= `stamp` (its step's end): end the run there, or note it."""
        params = {self._end_params.get(h): v for h, v in c.parameters.items()}
        # Within the sender's step, whatever it claims: a request to end cannot take back rows it did not make.
        back = min(max(int(params.get("back", 0)), 0), self._steps.get(c.sender, 0))
        end, reason, stop = stamp - back, int(params.get("reason", 0)), bool(params.get("stop", 1))
        entry: dict[str, object] = {"federate": c.sender, "time": to_seconds(end),  # in s
                                    "reason": END_REASONS.get(reason, "the model asked to end the simulation")}
        if not stop:
            self.terminated.append(entry)
            return
        if self.ended is not None or self._next_row is None:
            return  # ended already (the first in timestamp order ends it), or past the last row
        self.ended, self.end_time = entry, end
        if end < stamp:
            # It returned early: its values stamped `stamp` hold for `end`, where the others' are as before `stamp`
            # (as they were when the first value stamped `stamp` came, or as they are if none did yet).
            # Rows at or past `end` were written with its earlier values: the last row is rewritten at `end`.
            before = self._before_stamp if self._stamp == stamp else self.values[:]
            self._rows_before(stamp)  # every row below the stamp is complete (TSO order): written first
            self.sink.keep_rows(max(0, -(-(end - self.clock.start) // self.clock.step)))
            row = [v if fed == c.sender else b for (fed, _), v, b in zip(self.variables, self.values, before)]
            self.time, self._next_row = end, None
            self.sink.write(end, row)
            if self.on_row is not None:
                self.on_row(end)
        else:  # written once everything stamped `end` is in (the grant, or a later stamp)
            self._last_row = min(end, self._last_row)
            self._next_row = min(self._next_row, self._last_row)

    def _rows_before(self, t: LogicalTime) -> None:
        """Write every row stamped below t not written yet."""
        while self._next_row is not None and self._next_row < t:
            row = self._next_row
            self.time = row
            # Advanced first, so an interrupt inside write never writes this row twice. The last row may lie
            # between two steps: where a model ended the run.
            self._next_row = min(row + self.clock.step, self._last_row) if row < self._last_row else None
            self.sink.write(row, self.values)
            if self.on_row is not None:
                self.on_row(row)

    def _request(self) -> None:
        assert self._amb is not None
        if self._next_row is None:
            self.done = True
            self._amb.resign()
        else:
            ahead = self._next_row + (self.rows_per_request - 1) * self.clock.step
            self._amb.time_advance_request(min(ahead, self._last_row))

    def close(self) -> None:
        self.sink.close()
