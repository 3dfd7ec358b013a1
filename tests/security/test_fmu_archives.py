"""Hostile FMU archives: each is refused, naming what is wrong, by `validate`, `inspect` and the run path.

Every archive is built here with zipfile from a real twin FMU plus one hostile twist (nothing crafted
is committed): a zip bomb, too many members, lying sizes, an oversized modelDescription.xml,
duplicate and overlapping members, members that would land outside the extraction folder, a
symbolic link, a modelIdentifier that names a file elsewhere, and XML with entities. Each refusal
must come within 2 s (the CLI's: 2 s beyond its start-up), cost under 100 MB beyond a normal run
of the same command, write nothing outside the test's folder and extract nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import fmpy
import pytest
import yaml

from adapters.fmu.federate import FMUError, extract_fmu
from adapters.fmu.archive import GiB, MiB, ArchiveError, Limits
from adapters.fmu.interface import fmu_interface
from federation.kinds.interface import InterfaceError

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "federation.cli"]
TWIN = ROOT / "fmus" / "dist" / "fmi2" / "grid.fmu"
BINARY = f"binaries/{fmpy.platform}/grid{fmpy.sharedLibraryExtension}"
SECONDS = 2.0
EXTRA_MEMORY_KB = 100 * 1024


# ------------------------------------------------------------------------------------------------- building
def twin_members() -> dict[str, bytes]:
    with zipfile.ZipFile(TWIN) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def model_description(**replace: tuple[str, str]) -> bytes:
    """The twin's modelDescription.xml with (old, new) text replacements (keys name what changes)."""
    xml = twin_members()["modelDescription.xml"].decode()
    for old, new in replace.values():
        assert old in xml
        xml = xml.replace(old, new, 1)
    return xml.encode()


def write(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], level: int = 6) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": that is the point
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return path


def with_twin(path: Path, *extra: tuple[str | zipfile.ZipInfo, bytes], xml: bytes | None = None) -> Path:
    members = twin_members()
    if xml is not None:
        members["modelDescription.xml"] = xml
    return write(path, [*members.items(), *extra])


def central_entries(data: bytes) -> Iterator[tuple[int, str]]:
    """(offset, name) of each central directory entry."""
    for match in re.finditer(rb"PK\x01\x02", data):
        at = match.start()
        (length,) = struct.unpack_from("<H", data, at + 28)
        yield at, data[at + 46: at + 46 + length].decode("utf-8", "replace")


def patch_central(path: Path, name: str, **fields: int) -> None:
    """Rewrite fields of `name`'s central directory entry: compress_size, file_size, header_offset."""
    offsets = {"compress_size": 20, "file_size": 24, "header_offset": 42}
    data = bytearray(path.read_bytes())
    at = next(at for at, n in central_entries(bytes(data)) if n == name)
    for key, value in fields.items():
        struct.pack_into("<I", data, at + offsets[key], value)
    path.write_bytes(bytes(data))


def zip_bomb(path: Path) -> Path:
    """1 GiB of zeros written in 1 MiB chunks: about 1 MB on disk, 1029:1."""
    with_twin(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=4) as archive:
        with archive.open("resources/zeros.bin", "w", force_zip64=True) as member:
            chunk = bytes(MiB)
            for _ in range(1024):
                member.write(chunk)
    return path


def many_members(path: Path, lie: bool = False) -> Path:
    with_twin(path, *((f"resources/{i}", b"") for i in range(Limits().members)))
    if lie:  # the end record says 3 members; zipfile reads the central directory all the same
        data = bytearray(path.read_bytes())
        end = data.rindex(b"PK\x05\x06")
        struct.pack_into("<HH", data, end + 8, 3, 3)
        path.write_bytes(bytes(data))
    return path


def declared_total(path: Path) -> Path:
    """Two members declaring 1.5 GB each from 15 MB (100:1, within the ratio): 3 GB in all."""
    with_twin(path, ("resources/a.bin", b"a" * 100), ("resources/b.bin", b"b" * 100))
    for name in ("resources/a.bin", "resources/b.bin"):
        patch_central(path, name, file_size=1_500_000_000, compress_size=15_000_000)
    return path


def declared_member(path: Path) -> Path:
    with_twin(path, ("resources/a.bin", b"a" * 100))
    patch_central(path, "resources/a.bin", file_size=4_000_000_000)
    return path


def big_model_description(path: Path) -> Path:
    xml = model_description(pad=("<UnitDefinitions>", "<!--" + " " * (Limits().model_description_bytes + 1) + "-->"
                                 "<UnitDefinitions>"))
    members = twin_members()
    members["modelDescription.xml"] = xml
    return write(path, list(members.items()), level=1)


def nul_in_name(path: Path) -> Path:
    """A NUL inside a member's name (zipfile cuts names there when writing, so it is put in afterwards)."""
    with_twin(path, ("resources/aX/../../evil.txt", b"1"))
    path.write_bytes(path.read_bytes().replace(b"resources/aX/", b"resources/a\x00/"))
    return path


def overlapping(path: Path) -> Path:
    """Two names for one local header and its data (the "overlapping files" zip bomb's trick)."""
    with_twin(path, ("resources/a.bin", b"x" * 1000), ("resources/b.bin", b"y" * 1000))
    with zipfile.ZipFile(path) as archive:
        first = archive.getinfo("resources/a.bin").header_offset
    patch_central(path, "resources/b.bin", header_offset=first)
    return path


def symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("resources/passwd")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


BILLION_LAUGHS = ('<!DOCTYPE fmiModelDescription [<!ENTITY a0 "lollollollollollollollollollol">'
                  + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)) + "]>")
EXTERNAL = '<!DOCTYPE fmiModelDescription [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@dataclass(frozen=True)
class Case:
    build: Callable[[Path, Path], Path]  # (fmu path, test folder) -> fmu path
    expected: tuple[str, ...]  # in the error, besides the FMU's file name


def doctype(declaration: str, use: str) -> Callable[[Path, Path], Path]:
    return lambda p, _: with_twin(p, xml=model_description(
        head=('<fmiModelDescription', f"{declaration}\n<fmiModelDescription"), name=('modelName="grid"', use)))


def identifier(value: Callable[[Path], str]) -> Callable[[Path, Path], Path]:
    return lambda p, tmp: with_twin(p, xml=model_description(id=('modelIdentifier="grid"',
                                                                   f'modelIdentifier="{value(tmp)}"')))


def outside_library(tmp: Path) -> str:
    """A real FMU library outside the archive: what an absolute modelIdentifier would make fmpy load."""
    target = tmp / "outside" / f"grid{fmpy.sharedLibraryExtension}"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(twin_members()[BINARY])
    return str(target.with_suffix(""))


NFC, NFD = unicodedata.normalize("NFC", "resources/é.txt"), unicodedata.normalize("NFD", "resources/é.txt")
RATIO = ("expands", "over the limit of 200:1", "FEDERATION_FMU_MAX_RATIO")
MEMBERS = ("members, over the limit of 10000 members", "FEDERATION_FMU_MAX_MEMBERS")
CASES: dict[str, Case] = {
    "zip_bomb": Case(lambda p, _: zip_bomb(p), ("'resources/zeros.bin'", "to 1073741824 bytes", *RATIO)),
    "small_bombs": Case(lambda p, _: with_twin(p, *((f"resources/{i}.bin", bytes(MiB)) for i in range(100))),
                        ("the archive expands", "for archives over 1048576 bytes", *RATIO[1:])),
    "many_members": Case(lambda p, _: many_members(p), ("declares 10002 members", *MEMBERS)),
    "lying_member_count": Case(lambda p, _: many_members(p, lie=True), ("has 10002 members", *MEMBERS)),
    "declared_total": Case(lambda p, _: declared_total(p), (
        "bytes uncompressed", "over the limit of 2147483648 bytes", "FEDERATION_FMU_MAX_BYTES")),
    "declared_member": Case(lambda p, _: declared_member(p), ("'resources/a.bin'", "to 4000000000 bytes", *RATIO)),
    "big_model_description": Case(lambda p, _: big_model_description(p), (
        "member modelDescription.xml declares", "over the limit of 67108864 bytes", "FEDERATION_FMU_MAX_XML_BYTES")),
    "duplicate": Case(lambda p, _: with_twin(p, ("modelDescription.xml", b"<x/>")),
                      ("member 'modelDescription.xml' is in the archive twice",)),
    "duplicate_case": Case(lambda p, _: with_twin(p, ("resources/Table.txt", b"1"), ("resources/table.txt", b"2")),
                           ("twice: 'resources/Table.txt' and 'resources/table.txt' differ only in letter case",)),
    "duplicate_unicode": Case(lambda p, _: with_twin(p, (NFC, b"1"), (NFD, b"2")), ("twice", "Unicode form")),
    "duplicate_folder": Case(lambda p, _: with_twin(p, ("resources/", b""), ("resources", b"x")), ("twice",)),
    "file_and_folder": Case(lambda p, _: with_twin(p, ("resources/x", b"1"), ("resources/x/y", b"2")),
                            ("member 'resources/x' is a file and also a folder",)),
    "dot_segment": Case(lambda p, _: with_twin(p, ("resources/./a.txt", b"1")), ("not a canonical path",)),
    "empty_segment": Case(lambda p, _: with_twin(p, ("resources//a.txt", b"1")), ("not a canonical path",)),
    "inner_dotdot": Case(lambda p, _: with_twin(p, ("resources/../evil.txt", b"1")), ("'..' segment",)),
    "parent": Case(lambda p, _: with_twin(p, ("../evil.txt", b"1")), ("member '../evil.txt' has a '..' segment",)),
    "deep_parent": Case(lambda p, _: with_twin(p, ("resources/../../../evil.txt", b"1")), ("'..' segment",)),
    "absolute": Case(lambda p, tmp: with_twin(p, (str(tmp / "absolute-evil.txt"), b"1")), ("is an absolute path",)),
    "backslash": Case(lambda p, _: with_twin(p, ("..\\evil.txt", b"1")), ("backslash",)),
    "drive_letter": Case(lambda p, _: with_twin(p, ("C:/evil.txt", b"1")), ("colon",)),
    "nul": Case(lambda p, _: nul_in_name(p), ("control character",)),
    "symlink": Case(lambda p, _: with_twin(p, (symlink(), b"/etc/passwd")),
                    ("member 'resources/passwd' is a symbolic link",)),
    "overlap": Case(lambda p, _: overlapping(p), ("'resources/a.bin' and 'resources/b.bin' overlap",)),
    "identifier_parent": Case(identifier(lambda _: "../../x"), ("modelIdentifier '../../x'", "plain file name")),
    "identifier_absolute": Case(identifier(outside_library), ("modelIdentifier '/", "path separator")),
    "identifier_dotdot": Case(identifier(lambda _: ".."), ("modelIdentifier '..' is not a file name",)),
    "billion_laughs": Case(doctype(BILLION_LAUGHS, 'modelName="&a9;"'), ("declares a document type",)),
    "external_entity": Case(doctype(EXTERNAL, 'modelName="&secret;"'), ("declares a document type",)),
    "xml_syntax": Case(lambda p, _: with_twin(p, xml=model_description(
        tag=("<UnitDefinitions>", "<SECRET_password_hunter2>\n<UnitDefinitions>"))),
        ("cannot read modelDescription.xml: XML syntax error at line", ": mismatched tag")),
    "passwd_as_model_description": Case(lambda p, _: with_twin(
        p, xml=b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"),
        ("cannot read modelDescription.xml: XML syntax error at line 1, column ",)),
}
NEVER_SHOWN = ("SECRET", "hunter2", "root:", "daemon", "lollol", "Traceback")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{case: path} of every hostile FMU, built once (the bomb takes a few seconds to compress)."""
    folder = tmp_path_factory.mktemp("hostile-fmus")
    return {name: case.build(folder / f"{name}.fmu", folder) for name, case in CASES.items()}


def files_below(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def assert_refusal(message: str, name: str) -> None:
    assert f"{name}.fmu" in message, message
    for fragment in CASES[name].expected:
        assert fragment in message, (fragment, message)
    for secret in NEVER_SHOWN:
        assert secret not in message, (secret, message)
    assert len(message) < 2000, message


def loaded_libraries() -> str:
    return Path("/proc/self/maps").read_text()


# ------------------------------------------------------------------------------------------------ in process
@pytest.mark.parametrize("name", CASES)
def test_reading_the_interface_refuses_it(hostile: dict[str, Path], name: str) -> None:
    start = time.perf_counter()
    with pytest.raises(InterfaceError) as info:
        fmu_interface(hostile[name])
    assert time.perf_counter() - start < SECONDS
    assert_refusal(str(info.value), name)


@pytest.mark.parametrize("name", CASES)
def test_the_run_path_extracts_nothing_and_loads_nothing(hostile: dict[str, Path], name: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"  # the FMU is extracted below here, and escapes would land near it
    scratch = work / "scratch"
    scratch.mkdir(parents=True)
    fmu = shutil.copy(hostile[name], work / f"{name}.fmu")
    if name == "identifier_absolute":
        fmu = CASES[name].build(work / f"{name}.fmu", work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = files_below(work)
    start = time.perf_counter()
    with pytest.raises(FMUError) as info:
        extract_fmu(Path(fmu))
    assert time.perf_counter() - start < SECONDS
    assert_refusal(str(info.value), name)
    assert files_below(work) == before  # nothing extracted, nothing written beside it
    assert list(scratch.iterdir()) == []
    assert not (hostile[name].parent / "absolute-evil.txt").exists()
    assert str(work / "outside") not in loaded_libraries()


def test_an_absolute_model_identifier_never_loads_the_library_it_names(tmp_path: Path) -> None:
    fmu = CASES["identifier_absolute"].build(tmp_path / "identifier_absolute.fmu", tmp_path)
    outside = str(tmp_path / "outside")
    for read in (fmu_interface, extract_fmu):
        with pytest.raises((InterfaceError, FMUError), match="modelIdentifier"):
            read(fmu)
    assert outside not in loaded_libraries()


# ---------------------------------------------------------------------------------------------------- the CLI
@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kb: int


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 120.0) -> Ran:
    """The command as a user runs it, with its own wall time and peak memory (wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([*CLI, *args], stdout=out, stderr=err, cwd=cwd, env=env, text=True)
        deadline = start + timeout
        while True:  # bounded: the child is killed at the deadline
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Ran(proc.returncode, out.read(), err.read(), seconds, usage.ru_maxrss)


@pytest.fixture(scope="module")
def normal_inspect() -> Ran:
    ran = cli("inspect", str(TWIN))
    assert ran.returncode == 0, ran.stderr
    return ran


def scenario(folder: Path, fmus: dict[str, Path]) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump({
        "federation": "hostile",
        "time": {"start": 0.0, "stop": 10.0, "step": 1.0},
        "federates": {name: {"fmu": str(fmu), "site": f"site{i}"} for i, (name, fmu) in enumerate(fmus.items())},
    }))
    return path


@pytest.mark.parametrize("name", CASES)
def test_inspect_refuses_it(hostile: dict[str, Path], name: str, normal_inspect: Ran) -> None:
    ran = cli("inspect", str(hostile[name]))
    assert ran.returncode == 2, ran.stderr
    assert_refusal(ran.stderr, name)
    assert ran.seconds < normal_inspect.seconds + SECONDS
    assert ran.max_rss_kb < normal_inspect.max_rss_kb + EXTRA_MEMORY_KB


def test_validate_and_run_refuse_every_one_naming_each_federate(hostile: dict[str, Path], tmp_path: Path) -> None:
    normal = cli("validate", str(scenario(tmp_path, {"grid": TWIN})))
    assert normal.returncode == 0, normal.stderr
    path = scenario(tmp_path, {**hostile, "grid": TWIN})
    ran = cli("validate", str(path))
    assert ran.returncode == 2, ran.stderr
    lines = ran.stderr.splitlines()
    for name in CASES:
        line = next((line for line in lines if f"federates.{name}.fmu:" in line), "")
        assert_refusal(line, name)
    assert "federates.grid" not in ran.stderr
    for secret in NEVER_SHOWN:
        assert secret not in ran.stderr + ran.stdout, secret
    # Every hostile FMU at once: still within the budget of one.
    assert ran.seconds < normal.seconds + SECONDS, (ran.seconds, normal.seconds)
    assert ran.max_rss_kb < normal.max_rss_kb + EXTRA_MEMORY_KB

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    ran = cli("run", str(path), "--out", str(tmp_path / "out"), "--no-plot",
              env={**os.environ, "TMPDIR": str(scratch)})
    assert ran.returncode == 2, ran.stderr
    assert "federates.zip_bomb.fmu:" in ran.stderr and "Traceback" not in ran.stderr
    assert list(scratch.iterdir()) == []  # nothing extracted
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --------------------------------------------------------------------------------------- real FMUs still pass
def test_a_legitimate_fmu_near_the_limits_is_read_and_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """Folders, many members, a small file of zeros (1000:1, under the 1 MiB the ratio applies above)."""
    fmu = with_twin(tmp_path / "fine.fmu", ("resources/", b""), ("resources/zeros.bin", bytes(MiB)),
                    *((f"resources/tables/{i}.csv", b"t,x\n0,1\n") for i in range(500)),
                    ("documentation/index.html", b"<html/>"))
    assert fmu_interface(fmu).model_identifier == "grid"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    extracted = Path(extract_fmu(fmu).directory)
    assert (extracted / "resources" / "zeros.bin").read_bytes() == bytes(MiB)
    assert (extracted / BINARY).read_bytes() == twin_members()[BINARY]
    assert len(list((extracted / "resources" / "tables").iterdir())) == 500


def test_limits_are_set_through_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fmu = shutil.copy(TWIN, tmp_path / "grid.fmu")
    monkeypatch.setenv("FEDERATION_FMU_MAX_MEMBERS", "1")
    with pytest.raises(InterfaceError, match=r"grid\.fmu: the archive declares 2 members, over the limit of 1 "
                                             r"members \(set FEDERATION_FMU_MAX_MEMBERS to change it\)"):
        fmu_interface(Path(fmu))
    monkeypatch.setenv("FEDERATION_FMU_MAX_MEMBERS", "many")
    with pytest.raises(ArchiveError, match="FEDERATION_FMU_MAX_MEMBERS='many' is not a positive integer"):
        Limits.from_environment()
    monkeypatch.delenv("FEDERATION_FMU_MAX_MEMBERS")
    monkeypatch.setenv("FEDERATION_FMU_MAX_XML_BYTES", "1000")
    with pytest.raises(InterfaceError, match="modelDescription.xml declares 6884 bytes, over the limit of 1000"):
        fmu_interface(Path(fmu))
    assert Limits.from_environment({}) == Limits(10_000, 2 * GiB, 64 * MiB, 200.0, MiB)


def test_a_system_file_given_as_an_fmu_is_not_quoted() -> None:
    for system_file in ("/etc/passwd", "/etc/hostname"):
        if Path(system_file).is_file():
            with pytest.raises(InterfaceError) as info:
                fmu_interface(Path(system_file))
            assert str(info.value) == f"{system_file}: not an FMU (not a zip archive)"
