"""Writing an audit log: appending chained, signed entries, and continuing an earlier log or moving it aside."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import IO, Any

from .chain import Tail, walk_file
from .ends import check_end, read_head_file
from .entries import GENESIS, AuditError, AuditUnreadable, canonical, clip, digest, head_path
from .signing import Head, Signer, describe, issued_by, signer_role

log = logging.getLogger(__name__)

# Entries carry identities, names and verdicts; a field with any of these names would carry data.
_FORBIDDEN_FIELDS = frozenset({"value", "values", "parameters_values", "updates"})


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



class AuditLog:
    """Appends chained entries to a file, continuing its chain; safe across threads and processes (flock).

    After each entry the head file beside the log is replaced by the new head, signed with
    `signer` when given. A log is continued only when its writer can vouch for it
    (`vouch`); AuditError otherwise, and the file is left as it is.
    """

    def __init__(self, path: Path | str, signer: Signer | None = None) -> None:
        self.path = Path(path)
        self.head_path = head_path(self.path)
        self.signer = signer
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        try:
            with self._locked():
                self.vouch()
        except BaseException:
            self._file.close()
            raise

    def vouch(self) -> None:
        """Refuse (AuditError) a log whose chain does not verify, whose end does not match its head file
        (a non-empty log needs one), or whose head is not signed as this writer signs: by the RTI or the
        coordinator of the signer's CA for a writer with a key, not at all for one without. An empty log
        without a head gets one."""
        with self.path.open("rb") as f:  # under this writer's exclusive lock
            chain = walk_file(self.path, f)
        head = read_head_file(self.path)
        if head is None:
            if chain.tail.seq:
                raise AuditError(self.path, 0, f"its head file {self.head_path.name} is missing, so entries removed "
                                               "from its end would not show: it is not continued")
            self._write_head(chain.tail)
            return
        check_end(self.path, chain, self.head_path.name, head)
        if chain.tail.seq == 0:
            return
        if self.signer is None:
            if head.signature is not None:
                raise AuditError(self.path, 0, "its head is signed, and this writer has no key to sign what it "
                                               "appends: it is not continued")
            return
        try:
            cert = head.cert()
        except ValueError:
            cert = None
        if cert is None:
            raise AuditError(self.path, 0, "its head is not signed, and this writer signs: it is not continued")
        if self.signer.ca is not None and not issued_by(cert, self.signer.ca):
            raise AuditError(self.path, 0, f"its head is signed by {describe(cert)} of another CA (an earlier run's "
                                           "throw-away certificates, or another federation's): it is not continued")
        if signer_role(cert) is None:
            raise AuditError(self.path, 0, f"its head is signed by {describe(cert)}, which does not keep audit "
                                           "logs: it is not continued")

    def _locked(self) -> Any:
        return _Flock(self._file)

    def _write_head(self, tail: Tail) -> Head:
        head = self.signer.head(tail.seq, tail.prev) if self.signer else Head(tail.seq, tail.prev)
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        # Only ever our own temporary file: a symlink planted in its place is refused, not followed.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(head.to_json(), indent=2) + "\n")
        os.replace(tmp, self.head_path)
        return head

    def record(self, event: str, **fields: Any) -> Head:
        """Append one entry and return the log's new head; `fields` are identities and names, never
        variable values."""
        return self._append(event, fields, sign_before=False)

    def record_signed(self, event: str, **fields: Any) -> Head:
        """`record`, the entry also carrying the signer's signature of the head before it (a run_end does)."""
        return self._append(event, fields, sign_before=True)

    def _append(self, event: str, fields: dict[str, Any], sign_before: bool) -> Head:
        bad = _FORBIDDEN_FIELDS & fields.keys()
        if bad:
            raise ValueError(f"audit entries never carry values (field {sorted(bad)[0]!r})")
        with self._lock, self._locked():
            tail = _last_tail(self.path)
            clipped = {k: clip(v) for k, v in fields.items()}
            if sign_before and self.signer is not None:
                clipped.update(signature=self.signer.sign(tail.seq, tail.prev), certificate=self.signer.fingerprint)
            entry = {"seq": tail.seq, "ts": time.time(), "event": event, **clipped, "prev": tail.prev}
            entry["hash"] = digest(entry)
            self._file.write(canonical(entry) + "\n")
            self._file.flush()
            return self._write_head(Tail(tail.seq + 1, entry["hash"]))

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Flock:
    """An exclusive flock on an open file, for one `with`: another process may append to the same log."""

    def __init__(self, f: IO[str]) -> None:
        self.f = f

    def __enter__(self) -> None:
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self.f, fcntl.LOCK_UN)


def rotate(path: Path) -> Path:
    """Move the log at `path` and its head file aside to the first free `NAME.N.SUFFIX` (never replacing a
    file); returns the new path."""
    head = head_path(path)
    for number in range(1, 1_000_000):
        target = path.with_name(f"{path.stem}.{number}{path.suffix}")
        try:
            os.link(path, target)  # fails when the name is taken: nothing is ever replaced
        except FileExistsError:
            continue
        if head.exists():
            try:
                os.link(head, head_path(target))
            except FileExistsError:  # a stray head of that name: leave it, try the next name
                target.unlink()
                continue
            head.unlink()
        path.unlink()
        return target
    raise AuditError(path, 0, "no free name to move it aside to")


def open_continuing(path: Path, signer: Signer | None) -> AuditLog:
    """The log at `path`, continued when its writer can vouch for it (`AuditLog.vouch`), else moved aside
    (`rotate`, with a warning naming both files) and started anew. Nothing is deleted or truncated."""
    try:
        return AuditLog(path, signer)
    except AuditUnreadable:
        raise
    except AuditError as exc:
        moved = rotate(path)
        log.warning("%s cannot be continued (%s); moved it aside to %s and started a new audit log", path,
                    exc.reason, moved.name)
        return AuditLog(path, signer)
