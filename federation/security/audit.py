"""Append-only, hash-chained audit log (JSON Lines): who joined, declared, was denied, administered, ran."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from federation.errors import CarriesFields

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# Entries carry identities, names and verdicts; a field with any of these names would carry data.
_FORBIDDEN_FIELDS = frozenset({"value", "values", "parameters_values", "updates"})


class AuditError(CarriesFields, Exception):
    """An audit log failed verification: `line` (1-based) is the first bad entry."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}: line {line}: {reason}")


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class AuditUnreadable(AuditError):
    """An audit log that cannot be read at all (missing, a folder, no permission): nothing was verified."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.line, self.reason = path, 0, reason
        Exception.__init__(self, f"{path}: {reason}")


@dataclass(frozen=True)
class Tail:
    """Where a chain ends: the next sequence number and the hash the next entry must carry."""

    seq: int
    prev: str


def verify(path: Path | str) -> Tail:
    """Check every entry's sequence number, back-link and hash; raise AuditError at the first bad line,
    AuditUnreadable when the file cannot be read."""
    path = Path(path)
    tail = Tail(0, GENESIS)
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        raise AuditUnreadable(path, "no such file") from None
    except IsADirectoryError:
        raise AuditUnreadable(path, "is a folder, not an audit log") from None
    except OSError as exc:
        raise AuditUnreadable(path, f"cannot read: {exc.strerror or exc}") from None
    for number, raw in enumerate(lines, 1):
        try:
            entry = json.loads(raw)
        except ValueError:
            raise AuditError(path, number, "not a JSON object") from None
        if not isinstance(entry, dict):
            raise AuditError(path, number, "not a JSON object")
        if entry.get("seq") != tail.seq:
            raise AuditError(path, number, f"sequence number {entry.get('seq')!r}, expected {tail.seq} "
                                           "(an entry was removed, inserted or reordered)")
        if entry.get("prev") != tail.prev:
            raise AuditError(path, number, "previous-entry hash does not match (the chain is broken here)")
        if entry.get("hash") != _digest(entry):
            raise AuditError(path, number, "entry hash does not match its content (the entry was edited)")
        tail = Tail(tail.seq + 1, entry["hash"])
    return tail


def _last_tail(path: Path) -> Tail:
    """The tail after the file's last entry (trusted: `verify` is the check).

    Reads back from the end in growing chunks until the whole last line is in, however long.
    """
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        chunk = 65536
        while True:
            start = max(0, end - chunk)
            f.seek(start)
            data = f.read(end - start).rstrip(b"\n")
            if start == 0 or b"\n" in data:
                break
            chunk *= 4
    if not data:
        return Tail(0, GENESIS)
    last = json.loads(data.rsplit(b"\n", 1)[-1])
    return Tail(int(last["seq"]) + 1, str(last["hash"]))


MAX_FIELD = 256  # characters of a name kept in an entry: a client's huge name must not bloat the log


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return f"{value[:MAX_FIELD]}...({len(value)} characters)"
    return value


class AuditLog:
    """Appends chained entries to a file, continuing its chain; safe across threads and processes (flock)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        if self.path.exists() and self.path.stat().st_size:
            verify(self.path)  # never continue a chain that is already broken
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def record(self, event: str, **fields: Any) -> None:
        """Append one entry; `fields` are identities and names, never variable values."""
        bad = _FORBIDDEN_FIELDS & fields.keys()
        if bad:
            raise ValueError(f"audit entries never carry values (field {sorted(bad)[0]!r})")
        with self._lock:
            fcntl.flock(self._file, fcntl.LOCK_EX)  # another process may append to the same log
            try:
                tail = _last_tail(self.path)
                clipped = {k: _clip(v) for k, v in fields.items()}
                entry = {"seq": tail.seq, "ts": time.time(), "event": event, **clipped, "prev": tail.prev}
                entry["hash"] = _digest(entry)
                self._file.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
                self._file.flush()
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
