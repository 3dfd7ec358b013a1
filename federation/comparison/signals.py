"""Signals: reading result tables (a CSV with a time column, or series in memory) and pairing their columns.

A CSV is read by pandas' C parser when pandas is installed (the `pandas` extra: about 5x numpy.loadtxt on
large files), else by numpy.loadtxt; a file either refuses (an empty or non-numeric cell) is read again by
the csv module, cell by cell, so that an empty cell becomes NaN (a gap in measured data) and a bad one is
named by row and column.
"""

from __future__ import annotations

import csv
import difflib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from federation.errors import ConfigurationError

log = logging.getLogger(__name__)

Array = NDArray[np.float64]
Source = Union[str, Path, Mapping[str, "tuple[ArrayLike, ArrayLike]"]]
TIME_NAMES = ("time", "t", "time_s", "time [s]", "time (s)")  # the time column's name, any case; else the first


class CompareError(ConfigurationError, ValueError):
    """An input of a comparison is wrong: an unreadable file, a bad column, a mapping naming no column."""


@dataclass
class Table:
    """Signals by name, each (times in s, values) as float64 arrays; `source` says where they came from.

    The signals of a CSV share one time array (the same object), so that work on it is done once."""

    source: str
    signals: dict[str, tuple[Array, Array]]


def read_table(source: Source, what: str = "results") -> Table:
    """A table from a CSV path (the time column: one named time, t or time_s in any case, else the first) or
    from a mapping name -> (times, values). CompareError names the file, the row or the column at fault."""
    if isinstance(source, (str, Path)):
        return _read_csv(Path(source), what)
    signals: dict[str, tuple[Array, Array]] = {}
    for name, pair in source.items():
        try:
            times, values = (np.asarray(a, dtype=np.float64) for a in pair)
        except (TypeError, ValueError) as exc:
            raise CompareError(f"{what} {name!r}: not a (times, values) pair of numbers: {exc}") from None
        if times.ndim != 1 or times.shape != values.shape:
            raise CompareError(f"{what} {name!r}: times and values must be 1-D and of one length "
                               f"(got {times.shape} and {values.shape})")
        _check_times(times, f"{what} {name!r}")
        signals[str(name)] = (times, values)
    return Table(f"{what} (in memory)", signals)


def _read_csv(path: Path, what: str) -> Table:
    label = f"{what} file {path}"
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            first = fh.readline()
    except OSError as exc:
        raise CompareError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CompareError(f"{label}: not a text (CSV) file") from None
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise CompareError(f"{label}: needs a header row with a time column and at least one signal "
                           f"(found {header or 'nothing'})")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise CompareError(f"{label}: the column(s) {', '.join(map(repr, duplicates))} appear more than once")
    data = _numbers(path, label, header, delimiter)
    lowered = [h.lower() for h in header]
    time_index = next((lowered.index(n) for n in TIME_NAMES if n in lowered), 0)
    times = data[:, time_index]
    keep = ~np.isnan(times)  # a row without a time is no sample
    if not keep.all():
        data, times = data[keep], times[keep]
    _check_times(times, f"{label}, column {header[time_index]!r}")
    return Table(str(path), {name: (times, data[:, i]) for i, name in enumerate(header) if i != time_index})


def _numbers(path: Path, label: str, header: Sequence[str], delimiter: str) -> Array:
    """The body of the CSV as a (rows, columns) float64 array: a fast parser, then the careful one."""
    try:
        import pandas
    except ImportError:
        pandas = None
    try:
        if pandas is not None:
            frame = pandas.read_csv(path, sep=delimiter, dtype=np.float64, encoding="utf-8-sig",
                                    skip_blank_lines=True)
            data = frame.to_numpy(dtype=np.float64)
        else:
            data = np.loadtxt(path, delimiter=delimiter, skiprows=1, ndmin=2, dtype=np.float64, encoding="utf-8-sig")
        if data.shape[1] == len(header):
            return data
    except (ValueError, TypeError, IndexError) as exc:
        log.debug("%s: the fast reader refused it (%s); reading cell by cell", label, exc)
    except Exception as exc:  # pandas' ParserError and friends
        log.debug("%s: the fast reader refused it (%s); reading cell by cell", label, exc)
    try:
        return _careful(path, label, header, delimiter)
    except UnicodeDecodeError as exc:
        raise CompareError(f"{label}: not UTF-8 text past byte {exc.start}") from None


def _careful(path: Path, label: str, header: Sequence[str], delimiter: str) -> Array:
    """Every cell by float(): an empty one is NaN; the first bad cell or short row is an error naming it."""
    rows: list[list[float]] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        for number, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise CompareError(f"{label}, line {number}: {len(row)} cells, the header names {len(header)}")
            values = []
            for name, cell in zip(header, row):
                cell = cell.strip()
                try:
                    values.append(float(cell) if cell else float("nan"))
                except ValueError:
                    raise CompareError(f"{label}, line {number}, column {name!r}: {cell[:40]!r} is not a number") \
                        from None
            rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(header))


def _check_times(times: Array, label: str) -> None:
    if times.size and not np.isfinite(times).all():
        raise CompareError(f"{label}: a time that is not a finite number")
    backwards = np.flatnonzero(np.diff(times) < 0)
    if backwards.size:
        i = int(backwards[0])
        raise CompareError(f"{label}: time goes backwards at sample {i + 1} ({times[i]!r} then {times[i + 1]!r})")


def pair(results: Table, reference: Table, mapping: Mapping[str, str] | None
         ) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(result name, reference name) pairs, the reference's names no result pairs with (missing) and the
    results' names paired with nothing (extra). `mapping`: result name -> reference name, the rest by name."""
    mapping = dict(mapping or {})
    for name, ref_name in mapping.items():
        if name not in results.signals:
            raise CompareError(f"--map {name}={ref_name}: {results.source} has no column {name!r}"
                               f"{_close(name, results.signals)}")
        if ref_name not in reference.signals:
            raise CompareError(f"--map {name}={ref_name}: {reference.source} has no column {ref_name!r}"
                               f"{_close(ref_name, reference.signals)}")
    taken = set(mapping.values())
    if len(taken) < len(mapping):
        raise CompareError("--map: a reference column is mapped from more than one result column")
    pairs = list(mapping.items())
    pairs += [(n, n) for n in results.signals if n not in mapping and n in reference.signals and n not in taken]
    paired_refs = {r for _, r in pairs}
    paired = {n for n, _ in pairs}
    missing = [n for n in reference.signals if n not in paired_refs]
    extra = [n for n in results.signals if n not in paired]
    order = {n: i for i, n in enumerate(reference.signals)}
    pairs.sort(key=lambda p: order[p[1]])
    return pairs, missing, extra


def _close(name: str, names: Mapping[str, object]) -> str:
    near = difflib.get_close_matches(name, list(names), n=3)
    return f" (did you mean {', '.join(map(repr, near))}?)" if near else f" (it has {', '.join(list(names)[:8])})"
