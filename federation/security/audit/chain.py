"""Walking an audit log's chain: every entry checked against the one before, in order, under a shared lock."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .entries import GENESIS, AuditError, AuditUnreadable, clip, digest, parse_line


@dataclass(frozen=True)
class Tail:
    """Where a chain ends: the next sequence number and the hash the next entry must carry."""

    seq: int
    prev: str


@dataclass
class Chain:
    """What a walk over a whole log found: its tail, the hashes asked for, its run_end entries' signatures."""

    tail: Tail = Tail(0, GENESIS)
    hashes: dict[int, str] = field(default_factory=dict)  # seq -> hash, for the seqs asked for
    signed_ends: list[tuple[int, int, str, str, str]] = field(default_factory=list)  # line, seq, prev, signature, cert
    open_run: int | None = None  # seq of the last run_start with no run_end after it



def _walk(path: Path, f: IO[bytes], wanted: frozenset[int] = frozenset()) -> Chain:
    chain = Chain()
    tail = chain.tail
    after_end = False
    for number, raw in enumerate(f, 1):
        entry = parse_line(path, number, raw)
        if entry.get("seq") != tail.seq:
            raise AuditError(path, number, f"sequence number {entry.get('seq')!r}, expected {tail.seq} "
                                           "(an entry was removed, inserted or reordered)")
        if entry.get("prev") != tail.prev:
            raise AuditError(path, number, "previous-entry hash does not match (the chain is broken here)")
        if entry.get("hash") != digest(entry):
            raise AuditError(path, number, "entry hash does not match its content (the entry was edited)")
        event = entry.get("event")
        if after_end and event != "run_start":
            raise AuditError(path, number, f"entry {tail.seq} ({clip(str(event))}) follows the run_end entry "
                                           f"{tail.seq - 1}: nothing is recorded after a run ends but a new run")
        after_end = event == "run_end"
        if event == "run_start":
            chain.open_run = tail.seq
        elif after_end:
            chain.open_run = None
            signature, cert = entry.get("signature"), entry.get("certificate")
            if isinstance(signature, str) and isinstance(cert, str):
                chain.signed_ends.append((number, tail.seq, tail.prev, signature, cert))
        if tail.seq in wanted:
            chain.hashes[tail.seq] = entry["hash"]
        tail = Tail(tail.seq + 1, entry["hash"])
    chain.tail = tail
    return chain


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise AuditUnreadable(path, "no such file") from None
    except IsADirectoryError:
        raise AuditUnreadable(path, "is a folder, not an audit log") from None
    except OSError as exc:
        raise AuditUnreadable(path, f"cannot read: {exc.strerror or exc}") from None


@contextmanager
def shared(path: Path) -> Iterator[IO[bytes]]:
    """The log, open for reading under a shared lock: a writer appends an entry and replaces its head under
    an exclusive one, so what is read with it (the head file too) is one moment's."""
    with _open(path) as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        yield f


def walk_file(path: Path, f: IO[bytes], wanted: frozenset[int] = frozenset()) -> Chain:
    """Walk the whole log open in `f` (at `path`), keeping the hashes of the `wanted` sequence numbers;
    AuditError at the first bad entry, AuditUnreadable when reading fails."""
    try:
        return _walk(path, f, wanted)
    except OSError as exc:
        raise AuditUnreadable(path, f"cannot read: {exc.strerror or exc}") from None


def verify(path: Path | str) -> Tail:
    """Check every line's canonical form, sequence number, back-link and hash, and that nothing but a new
    run follows a run_end; raise AuditError at the first bad line, AuditUnreadable when the file cannot be
    read. The log's end is checked by `verify_log`."""
    path = Path(path)
    with shared(path) as f:
        return walk_file(path, f).tail

