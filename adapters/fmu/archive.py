"""Open an FMU archive only after checking that it cannot exhaust the machine or write outside its folder.

An FMU is a zip file that may come from another company. Before anything reads or extracts it,
`open_fmu` checks its central directory (no member is decompressed for that):

- limits, each named in the error with the value found: the member count (and the size of the
  central directory, read before the members are parsed), the total declared uncompressed size,
  the size of modelDescription.xml and the compression ratio, per member and overall (for
  members and archives over `Limits.ratio_above` bytes, so that small, very compressible files
  pass);
- every member name is a canonical relative path: no absolute path, drive letter or colon,
  backslash, NUL, `..`, `.` or empty segment; no two names equal once case and Unicode
  normalisation are ignored (they would overwrite each other on some file systems), no name both
  a file and a folder;
- only files and folders: no symbolic link, device, FIFO or socket (zip external attributes),
  no encrypted member, no compression method that zipfile cannot read;
- members' data do not overlap (the "overlapping files" zip bomb reuses one compressed stream).

`read_model_description` reads modelDescription.xml within its limit and refuses a document
type declaration: an FMI model description has none, and entities are how XML expands without
bound or reads other files. A malformed document is reported by position and expat's generic
description, never with its content. `extract` writes only checked members, each within its
declared size and the total limit, into a folder it refuses to leave. `plain_file_name` checks a
name the tool turns into a path (an FMU's modelIdentifier names its binary).

This module uses only the standard library and knows nothing of the rest of the tool, so that
both the scenario's checks (adapters.fmu.interface, adapters.fmu.probe) and the FMU adapter
(adapters.fmu.federate, which may import nothing else of the federation package but the ambassador) use
this one set of checks. Limits can be set through the environment (see `ENVIRONMENT`).
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ErrorString, ExpatError, ParserCreate

from federation.errors import ConfigurationError

__all__ = ["ArchiveError", "ENVIRONMENT", "Limits", "MODEL_DESCRIPTION", "PARSED_XML", "clip", "extract", "open_fmu",
           "parse_error", "plain_file_name", "quoted", "read_model_description"]

MODEL_DESCRIPTION = "modelDescription.xml"
PARSED_XML = (MODEL_DESCRIPTION, "sources/buildDescription.xml")  # what fmpy parses (the second for FMI 3)
MiB = 1 << 20
GiB = 1 << 30
CENTRAL_ENTRY_BUDGET = 512  # bytes of central directory allowed per allowed member (real names are short)
_CHUNK = MiB
NAME_MAX = 255  # bytes of a file name on common file systems
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_SPECIAL_TYPES = {stat.S_IFLNK: "a symbolic link", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
                  stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CLIP = 200  # characters of a name or message from the archive kept in an error


class ArchiveError(ConfigurationError, ValueError):
    """The FMU archive is refused; the message names the file, the member or limit, and the value found."""


@dataclass(frozen=True)
class Limits:
    """What one FMU archive may hold. Generous for real FMUs; each can be set through the environment."""

    members: int = 10_000
    total_bytes: int = 2 * GiB  # declared uncompressed size of all members together
    model_description_bytes: int = 64 * MiB
    ratio: float = 200.0  # uncompressed : compressed
    ratio_above: int = MiB  # the ratio limit applies to members (and archives) larger than this

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Limits:
        """The defaults, with any of the ENVIRONMENT variables set in `environ` instead."""
        given: dict[str, float | int] = {}
        for f in fields(cls):
            name = ENVIRONMENT[f.name]
            text = environ.get(name)
            if text is None or not text.strip():
                continue
            try:
                value = float(text) if f.name == "ratio" else int(text)
            except ValueError:
                value = 0
            if not value > 0:
                kind = "number" if f.name == "ratio" else "integer"
                raise ArchiveError(f"{name}={quoted(text)} is not a positive {kind}")
            given[f.name] = value
        return cls(**given)  # type: ignore[arg-type]


ENVIRONMENT = {
    "members": "FEDERATION_FMU_MAX_MEMBERS",
    "total_bytes": "FEDERATION_FMU_MAX_BYTES",
    "model_description_bytes": "FEDERATION_FMU_MAX_XML_BYTES",
    "ratio": "FEDERATION_FMU_MAX_RATIO",
    "ratio_above": "FEDERATION_FMU_RATIO_ABOVE_BYTES",
}


def clip(text: str, limit: int = _CLIP) -> str:
    """`text` cut to about `limit` characters: names and messages that come from an archive are unbounded."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def quoted(value: str) -> str:
    """repr(value), clipped: how an error names a member or a name read from the archive."""
    return clip(repr(value))


def _over(path: Path, what: str, found: str, limit: str, key: str) -> ArchiveError:
    return ArchiveError(f"{path}: {what} {found}, over the limit of {limit} (set {ENVIRONMENT[key]} to change it)")


# ------------------------------------------------------------------------------------------------------- open + check

@contextmanager
def open_fmu(path: Path, limits: Limits | None = None) -> Iterator[zipfile.ZipFile]:
    """The FMU at `path` as an open ZipFile, once every member has passed the checks (ArchiveError if not)."""
    limits = limits or Limits.from_environment()
    with open(path, "rb") as fp:
        size = os.fstat(fp.fileno()).st_size
        _check_end_record(path, fp, limits)
        try:
            archive = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
            raise ArchiveError(f"{path}: corrupt FMU: {clip(str(exc))}") from exc
        with archive:
            _check_members(path, archive, size, limits)
            yield archive


def _check_end_record(path: Path, fp: IO[bytes], limits: Limits) -> None:
    """Refuse too many members from the end record, before zipfile parses (and holds) every one of them."""
    end_record = getattr(zipfile, "_EndRecData", None)  # zipfile's own reading, zip64 included
    if end_record is None:  # another Python: the member count is still checked after parsing
        return
    try:
        end = end_record(fp)
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if end is None:
        raise ArchiveError(f"{path}: not an FMU (not a zip archive)")
    count, directory_size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    if count > limits.members:
        raise _over(path, "the archive declares", f"{count} members", f"{limits.members} members", "members")
    budget = limits.members * CENTRAL_ENTRY_BUDGET
    if directory_size > budget:
        raise _over(path, "the archive's central directory holds", f"{directory_size} bytes",
                    f"{budget} bytes ({CENTRAL_ENTRY_BUDGET} per allowed member)", "members")


def _check_members(path: Path, archive: zipfile.ZipFile, archive_size: int, limits: Limits) -> None:
    """Raise ArchiveError for the first member or total that breaks a rule or a limit (see the module doc)."""
    infos = archive.infolist()
    if len(infos) > limits.members:
        raise _over(path, "the archive has", f"{len(infos)} members", f"{limits.members} members", "members")
    seen: dict[str, str] = {}  # normalised name -> the member's name
    files: dict[str, str] = {}
    folders: set[str] = set()
    total = 0
    for info in infos:
        name = _check_name(path, info)
        key = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
        if key in seen:
            same = "twice" if seen[key] == name else (f"twice: {quoted(seen[key])} and {quoted(name)} differ only in "
                                                      "letter case, Unicode form or a trailing '/'")
            raise ArchiveError(f"{path}: member {quoted(name.rstrip('/'))} is in the archive {same}")
        seen[key] = name
        parts = key.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        if info.is_dir():
            folders.add(key)
        else:
            files[key] = name
        _check_kind(path, info, name)
        if name in PARSED_XML and info.file_size > limits.model_description_bytes:
            raise _over(path, f"member {name} declares", f"{info.file_size} bytes",
                        f"{limits.model_description_bytes} bytes", "model_description_bytes")
        if info.file_size > info.compress_size * limits.ratio and info.file_size > limits.ratio_above:
            raise _over(path, f"member {quoted(name)} expands", _ratio(info.file_size, info.compress_size),
                        f"{limits.ratio:g}:1 for members over {limits.ratio_above} bytes", "ratio")
        total += info.file_size
    clash = sorted(folders & files.keys())
    if clash:
        raise ArchiveError(f"{path}: member {quoted(files[clash[0]])} is a file and also a folder of other members")
    if total > limits.total_bytes:
        raise _over(path, "the members declare", f"{total} bytes uncompressed", f"{limits.total_bytes} bytes",
                    "total_bytes")
    if total > archive_size * limits.ratio and total > limits.ratio_above:
        raise _over(path, "the archive expands", _ratio(total, archive_size),
                    f"{limits.ratio:g}:1 for archives over {limits.ratio_above} bytes", "ratio")
    _check_no_overlap(path, infos, archive.start_dir)


def _ratio(uncompressed: int, compressed: int) -> str:
    return f"from {compressed} to {uncompressed} bytes ({uncompressed / max(compressed, 1):.0f}:1)"


def _check_name(path: Path, info: zipfile.ZipInfo) -> str:
    """The member's name if it is a canonical relative path that stays inside the extraction folder."""
    raw = info.orig_filename  # zipfile cuts the name at a NUL; the raw one still has it
    name = info.filename
    why = ""
    if "\x00" in raw or _CONTROL.search(raw):
        why = "holds a control character"
    elif "\\" in raw:
        why = "holds a backslash (FMU paths use '/')"
    elif raw.startswith("/"):
        why = "is an absolute path"
    elif ":" in raw:
        why = "holds a colon (a drive letter or device)"
    elif not raw.rstrip("/"):
        why = "is empty"
    else:
        segments = raw.rstrip("/").split("/")
        if ".." in segments:
            why = "has a '..' segment, which leaves the FMU's folder"
        elif "." in segments or "" in segments:
            why = "is not a canonical path (it has a '.' or empty segment)"
    if why:
        raise ArchiveError(f"{path}: member {quoted(raw)} {why}")
    return name


def _check_kind(path: Path, info: zipfile.ZipInfo, name: str) -> None:
    kind = _SPECIAL_TYPES.get(stat.S_IFMT(info.external_attr >> 16))
    if kind:
        raise ArchiveError(f"{path}: member {quoted(name)} is {kind}; an FMU holds only files and folders")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{path}: member {quoted(name)} is encrypted")
    if info.compress_type not in _METHODS:
        raise ArchiveError(f"{path}: member {quoted(name)} uses compression method {info.compress_type}, "
                           "which cannot be read (stored, deflate, bzip2 and lzma can)")


def _check_no_overlap(path: Path, infos: list[zipfile.ZipInfo], directory_start: int) -> None:
    """Each member's data ends before the next member's header: no two members share compressed bytes."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for info, after in zip(ordered, ordered[1:]):
        if info.header_offset + 30 + info.compress_size > after.header_offset:  # 30: a local header's fixed part
            raise ArchiveError(f"{path}: members {quoted(info.filename)} and {quoted(after.filename)} overlap "
                               "in the archive (their data share bytes)")
    if ordered and ordered[-1].header_offset + 30 + ordered[-1].compress_size > directory_start:
        raise ArchiveError(f"{path}: member {quoted(ordered[-1].filename)} overlaps the archive's central directory")


# ------------------------------------------------------------------------------------------------- model description

def read_model_description(path: Path, archive: zipfile.ZipFile) -> bytes:
    """modelDescription.xml of a checked archive, once it and every other XML document fmpy parses from
    the archive are found well-formed and without a document type declaration."""
    if MODEL_DESCRIPTION not in archive.NameToInfo:
        raise ArchiveError(f"{path}: FMU has no {MODEL_DESCRIPTION}")
    for member in PARSED_XML[1:]:
        if member in archive.NameToInfo:
            _checked_xml(path, archive, member)
    return _checked_xml(path, archive, MODEL_DESCRIPTION)


def _checked_xml(path: Path, archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        xml = archive.read(member)
    except Exception as exc:  # BadZipFile (a bad CRC), zlib.error, lzma.LZMAError, EOFError: a damaged member
        raise ArchiveError(f"{path}: corrupt FMU: {clip(str(exc))}") from exc
    parser = ParserCreate()

    def doctype(*_: object) -> None:
        raise _DocumentType(parser.CurrentLineNumber)

    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(xml, True)
    except _DocumentType as found:
        raise ArchiveError(f"{path}: cannot read {member}: it declares a document type (<!DOCTYPE>, "
                           f"line {found.args[0]}); FMI's XML files have none, and its "
                           "entities could expand without bound or read other files") from None
    except ExpatError as exc:
        raise ArchiveError(f"{path}: cannot read {member}: {parse_error(exc)}") from None
    return xml


class _DocumentType(Exception):
    """Raised by the parser's handler at a document type declaration; args: (its line,)."""


def parse_error(exc: BaseException) -> str:
    """What an XML parser (expat, ElementTree, lxml) said, as a position and a generic description only.

    Their messages may quote the document (lxml names the mismatched tags), and the document may be
    anything: a file from outside the scenario's folder, another company's model.
    """
    expat = isinstance(exc, (ExpatError, ParseError))  # expat's codes, and 0-based columns
    code = getattr(exc, "code", None)
    described = ErrorString(code) if expat and isinstance(code, int) else ""
    line, column = getattr(exc, "lineno", None), getattr(exc, "offset", None)
    position = getattr(exc, "position", None)  # lxml and ElementTree: (line, column)
    if isinstance(position, tuple) and len(position) == 2:
        line, column = position
    if expat and isinstance(column, int):
        column += 1
    where = f" at line {line}, column {column}" if isinstance(line, int) and isinstance(column, int) else ""
    if isinstance(exc, (SyntaxError, ExpatError)):
        return f"XML syntax error{where}{f': {described}' if described else ''}"
    return clip(str(exc))


# ------------------------------------------------------------------------------------------------------------ extract

def extract(path: Path, archive: zipfile.ZipFile, directory: Path, include: Callable[[str], bool] | None = None,
            limits: Limits | None = None) -> None:
    """Write the checked archive's members (those `include` accepts) below `directory`, within the limits."""
    limits = limits or Limits.from_environment()
    root = Path(directory).resolve()
    written = 0
    for info in archive.infolist():
        if include is not None and not include(info.filename):
            continue
        parts = info.filename.rstrip("/").split("/")
        target = root.joinpath(*parts)
        if os.path.commonpath([root, target]) != str(root):  # the names were checked: this never happens
            raise ArchiveError(f"{path}: member {quoted(info.filename)} would leave the FMU's folder")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # A fresh file, never through a link: whatever was there is not overwritten.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out, archive.open(info) as member:
            size = 0
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                written += len(chunk)
                if size > info.file_size:
                    raise ArchiveError(f"{path}: member {quoted(info.filename)} holds more than the "
                                       f"{info.file_size} bytes it declares")
                if written > limits.total_bytes:
                    raise _over(path, "extracting writes", f"more than {written} bytes",
                                f"{limits.total_bytes} bytes", "total_bytes")
                out.write(chunk)


def plain_file_name(path: Path, what: str, value: object) -> str:
    """`value` if it can name a file inside a folder (no separator, '..', absolute path, NUL...), else ArchiveError."""
    name = str(value) if value is not None else ""
    why = ""
    if not name:
        why = "is empty"
    elif name in (".", ".."):
        why = "is not a file name"
    elif "/" in name or "\\" in name:
        why = "holds a path separator"
    elif ":" in name:
        why = "holds a colon (a drive letter or device)"
    elif _CONTROL.search(name):
        why = "holds a control character"
    elif len(name.encode("utf-8", "surrogatepass")) > NAME_MAX:
        why = f"is longer than {NAME_MAX} bytes"
    if why:
        raise ArchiveError(f"{path}: {what} {quoted(name)} {why}; it must be a plain file name")
    return name
