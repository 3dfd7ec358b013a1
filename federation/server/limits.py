"""The RTI service's limits: what one host, message or connection may cost the server (`rti serve --limit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Bounds on sizes, counts and silences; each may be set with `rti serve --limit NAME=VALUE`."""

    max_message_bytes: int = 4 * 1024 * 1024
    heartbeat_timeout: float = 4.0  # s without any message from a host
    grant_timeout: float = 6.0  # s without a time advance while someone waits
    # A batch is applied in one go on the event loop every federation shares; real hosts send
    # at most 511 messages per batch (outbox.MAX_BATCH, plus at most one list of held steps).
    max_batch_messages: int = 4096
    # Updates and interactions in one message (a step, or all a batch's steps): a 4 MB step of
    # 200,000 tiny updates would hold the event loop for 0.7 s; 65,536 for some 0.2 s.
    max_message_items: int = 65536
    # Messages queued for a host that does not read its stream; beyond, its session is closed.
    max_queued_messages: int = 16384
    # One Callbacks message is split beyond this, well below the 64 MB gRPC send limit.
    max_callbacks_bytes: int = 16 * 1024 * 1024
    reap_after: float = 60.0  # s a finished or failed federation stays inspectable
    hello_timeout: float = 10.0  # s a session may stay open without saying hello
    max_name_length: int = 256  # characters in a federation, class or member name
    # The connection gate of `rti serve` (gate.py): open connections from one address (IPv6: one /64),
    # open connections in all, and seconds a new connection may stay silent.
    max_connections_per_address: int = 16
    max_connections: int = 1024
    silent_connection_timeout: float = 3.0


def with_limits(base: Limits, settings: list[str]) -> Limits:
    """`base` with NAME=VALUE settings applied (`rti serve --limit`); ValueError names a bad one."""
    kinds = {f.name: f.type for f in fields(Limits)}
    changes: dict[str, Any] = {}
    for text in settings:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or name not in kinds:
            raise ValueError(f"limit {text!r}: expected NAME=VALUE with NAME one of {', '.join(kinds)}")
        try:
            value: float | int = int(raw) if kinds[name] == "int" else float(raw)
        except ValueError:
            raise ValueError(f"limit {name}: {raw!r} is not {'an integer' if kinds[name] == 'int' else 'a number'}") from None
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"limit {name}: must be a finite number above 0, got {raw!r}")
        changes[name] = value
    return replace(base, **changes)
