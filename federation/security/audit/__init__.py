"""Append-only, hash-chained audit log (JSON Lines): who joined, declared, was denied, administered, ran.

Every line is one entry in canonical JSON (`entries`): the chain's hashes cover each entry's
content, the canonical form covers its bytes (`chain` walks and checks them). What a chain cannot
show by itself, entries removed from its end or appended after it, is recorded outside the file
(`ends` checks it): every writer (`writer`) keeps the log's head (number of entries, hash of the
last one) in a head file beside it (`audit.jsonl` -> `audit.head.json`), a run copies its final
head into run.json, and a run's `run_end` entry carries the head before it. A writer holding a key
(the RTI's, or the coordinator's site key) signs each head (`signing`), so that nobody without that
key can rebuild a chain whose head still verifies. docs/security.md says what this does and does
not protect.
"""

from .chain import Tail, verify
from .ends import Verified, load_ca, verify_log
from .entries import AuditError, AuditUnreadable, head_path
from .signing import Head, Signer
from .writer import AuditLog, open_continuing, rotate

__all__ = ["AuditError", "AuditLog", "AuditUnreadable", "Head", "Signer", "Tail", "Verified", "head_path", "load_ca",
           "open_continuing", "rotate", "verify", "verify_log"]
