"""Glob patterns of policy keys (fnmatch syntax): how specific one is, and whether two can match one name."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

_WILD = "*?["


@dataclass(frozen=True)
class _Token:
    kind: str  # "lit", "one" (?), "star" (*), "set" ([...])
    chars: frozenset[str] = frozenset()
    negated: bool = False

    def accepts(self, c: str) -> bool:
        if self.kind == "lit":
            return c in self.chars
        if self.kind == "set":
            return (c in self.chars) != self.negated
        return True


def is_pattern(key: str) -> bool:
    """Whether a key is a glob rather than a name."""
    return any(c in key for c in _WILD)


def specificity(pattern: str) -> int:
    """How specific a pattern is: its characters that match one thing only (a name beats every pattern)."""
    return sum(t.kind == "lit" for t in _tokens(pattern))


def common_match(a: str, b: str) -> str | None:
    """A name both patterns match, or None when there is none (a search over the pair of patterns)."""
    ta, tb = _tokens(a), _tokens(b)
    alphabet = sorted({c for t in ta + tb for c in t.chars} | {"x"})
    alphabet.append(next(chr(n) for n in range(0x100, 0x200) if chr(n) not in alphabet))  # a char neither names
    start = (0, 0)
    seen = {start: ""}
    todo = deque([start])
    while todo:
        state = todo.popleft()
        text = seen[state]
        i, j = state
        if i == len(ta) and j == len(tb):
            return text
        moves = []
        if i < len(ta) and ta[i].kind == "star":
            moves.append(((i + 1, j), text))  # the star matches nothing more
        if j < len(tb) and tb[j].kind == "star":
            moves.append(((i, j + 1), text))
        for c in alphabet:
            ni, nj = _step(ta, i, c), _step(tb, j, c)
            if ni is not None and nj is not None:
                moves.append(((ni, nj), text + c))
        for nxt, t in moves:
            if nxt not in seen:
                seen[nxt] = t
                todo.append(nxt)
    return None


def _step(tokens: list[_Token], i: int, c: str) -> int | None:
    """The position after consuming c at position i (a star stays), or None if c cannot be read there."""
    if i >= len(tokens) or not tokens[i].accepts(c):
        return None
    return i if tokens[i].kind == "star" else i + 1


def _tokens(pattern: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not (out and out[-1].kind == "star"):
                out.append(_Token("star"))
        elif c == "?":
            out.append(_Token("one"))
        elif c == "[" and (end := _set_end(pattern, i)) is not None:
            body = pattern[i + 1:end]
            negated = body.startswith("!")
            out.append(_Token("set", frozenset(_expand(body[1:] if negated else body)), negated))
            i = end
        else:
            out.append(_Token("lit", frozenset(c)))
        i += 1
    return out


def _set_end(pattern: str, i: int) -> int | None:
    """Where a bracket set opened at i closes, as fnmatch reads it (a ']' first is a member); None: a literal '['."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "!":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    end = pattern.find("]", j)
    return None if end < 0 else end


def _expand(body: str) -> set[str]:
    chars: set[str] = set()
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            chars |= {chr(n) for n in range(ord(body[k]), ord(body[k + 2]) + 1)}
            k += 3
        else:
            chars.add(body[k])
            k += 1
    return chars
