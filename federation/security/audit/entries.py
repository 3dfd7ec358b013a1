"""One audit entry: its canonical form and hash, the checks a line must pass, and the audit errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from federation.errors import CarriesFields, ConfigurationError

GENESIS = "0" * 64  # the `prev` of a log's first entry
MAX_FIELD = 256  # characters of a name kept in an entry: a client's huge name must not bloat the log


class AuditError(CarriesFields, ConfigurationError):
    """An audit log failed verification: `line` (1-based) is the first bad entry, 0 when the problem
    is not one line's (its end, its head file, a signature)."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}: line {line}: {reason}" if line else f"{path}: {reason}")


class AuditUnreadable(AuditError):
    """An audit log that cannot be read at all (missing, a folder, no permission): nothing was verified."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.line, self.reason = path, 0, reason
        Exception.__init__(self, f"{path}: {reason}")


def canonical(entry: dict[str, Any]) -> str:
    """An entry's one accepted form: sorted keys, no spaces, ASCII only (others escaped), no NaN."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest(entry: dict[str, Any]) -> str:
    """The hash an entry carries: SHA-256 of its canonical form without the hash itself."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"}).encode()).hexdigest()


def head_path(path: Path) -> Path:
    """Where the head of the log at `path` is kept: `audit.jsonl` -> `audit.head.json`."""
    return path.with_suffix(".head.json")


def short(digest: str) -> str:
    """A hash as a message shows it: its first 12 characters."""
    return f"{digest[:12]}.."


def clip(value: Any) -> Any:
    """`value`, a text cut to MAX_FIELD characters with a note of its length; anything else as it is."""
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return f"{value[:MAX_FIELD]}...({len(value)} characters)"
    return value


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    """Line `number` of the log at `path`, parsed and checked to be exactly the canonical form of what it
    holds; AuditError otherwise."""
    if not raw.endswith(b"\n"):
        raise AuditError(path, number, "the last line does not end with a newline (the file was cut or appended to)")
    try:
        entry = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise AuditError(path, number, f"key {exc.args[0]!r} appears twice in one object: the line was edited "
                                       "(a writer never repeats a key)") from None
    except (ValueError, RecursionError):
        raise AuditError(path, number, "not a JSON object") from None
    if not isinstance(entry, dict):
        raise AuditError(path, number, "not a JSON object")
    try:
        expected = canonical(entry).encode() + b"\n"
    except ValueError:  # a number too large for a float (1e999) reads as inf, which no writer writes
        raise AuditError(path, number, "holds a number no writer writes (infinite)") from None
    if raw != expected:
        at = next((i for i, (a, b) in enumerate(zip(raw, expected)) if a != b), min(len(raw), len(expected)))
        raise AuditError(path, number, f"not in canonical form (sorted keys, no spaces, ASCII escapes) from "
                                       f"character {at + 1}: the line was rewritten")
    return entry
