"""Bounded text for error messages and log lines: no message prints an unbounded value, whoever sent it."""

from __future__ import annotations

import re
import reprlib

LIMIT = 2000  # characters of one value in a message; a log line stays within a few KB
_CLIPPED = re.compile(r"\.\.\. \(\d+ more characters\)")

_SHORT_REPR = reprlib.Repr()  # Python 3.11 takes no keywords here
_SHORT_REPR.maxlevel, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 3, 200, 200


def clip(text: str, limit: int = LIMIT) -> str:
    """`text`, cut to `limit` characters with a note of how many were left out (a text clipped to the
    same limit before is left as it is: its note counts from the original)."""
    if len(text) <= limit or _CLIPPED.fullmatch(text[limit:]):
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def short_repr(value: object) -> str:
    """repr(value), bounded in depth and length (a YAML alias bomb would otherwise echo gigabytes)."""
    return _SHORT_REPR.repr(value)


def few(names: list[str], shown: int = 5) -> str:
    """The first `shown` names, comma-separated (quoted when not printable: a file name may hold a newline),
    and how many more there are."""
    more = len(names) - shown
    listed = [clip(name, 200) if name.isprintable() else short_repr(name) for name in names[:shown]]
    return ", ".join(listed) + (f" and {more} more" if more > 0 else "")
