"""The declared requirements agree with the code that needs them: the generated stubs, the stub generator."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from federation.protocol import codegen, stubs

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement(name: str, listed: list[str]) -> Requirement:
    found = [r for r in map(Requirement, listed) if r.name == name]
    assert len(found) == 1, f"{name}: expected once in {listed}"
    return found[0]


def stub_needs() -> dict[str, Version]:
    """The oldest grpcio and protobuf that the checkout's stubs accept: each stub file says so itself."""
    grpc = (stubs.GEN_DIR / "rti_pb2_grpc.py").read_text()
    pb = (stubs.GEN_DIR / "rti_pb2.py").read_text()
    grpc_version = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", grpc)
    pb_version = re.search(r"ValidateProtobufRuntimeVersion\(\s*\S+,\s*(\d+),\s*(\d+),\s*(\d+),", pb)
    assert grpc_version and pb_version, "the stubs no longer state the versions they need: update this test"
    return {"grpcio": Version(grpc_version[1]), "protobuf": Version(".".join(pb_version.groups()))}


@pytest.mark.parametrize("name", ["grpcio", "protobuf"])
def test_the_declared_floor_admits_no_runtime_the_stubs_refuse(name: str) -> None:
    needed = stub_needs()[name]
    declared = requirement(name, PYPROJECT["project"]["dependencies"]).specifier
    assert needed in declared
    older = [s for s in declared if s.operator == ">="]
    assert older and Version(older[0].version) >= needed, f"{name} {declared}: the stubs need >= {needed}"


def test_protobuf_stays_within_the_major_of_the_stubs() -> None:
    """protobuf supports generated code only with a runtime of the same major."""
    major = stub_needs()["protobuf"].major
    declared = requirement("protobuf", PYPROJECT["project"]["dependencies"]).specifier
    assert f"{major}.999" in declared and f"{major + 1}.0" not in declared


def test_the_wheel_and_the_checkout_generate_stubs_with_the_same_grpcio_tools() -> None:
    build = requirement("grpcio-tools", PYPROJECT["build-system"]["requires"])
    dev = requirement("grpcio-tools", PYPROJECT["project"]["optional-dependencies"]["dev"])
    assert build == dev and str(build.specifier).startswith("==")
    installed = codegen.generator_version()  # it made the checkout's stubs that the tests above read
    assert installed is not None and installed in build.specifier


def test_grpcio_tools_is_not_a_run_time_dependency() -> None:
    """An installed wheel carries its stubs (setup.py): the generator is needed to build, never to run."""
    assert all(Requirement(r).name != "grpcio-tools" for r in PYPROJECT["project"]["dependencies"])


def test_stubs_are_regenerated_when_the_proto_or_the_generator_changes(tmp_path: Path) -> None:
    proto = tmp_path / "rti.proto"
    shutil.copy(stubs.PROTO, proto)
    out = tmp_path / "_gen"
    codegen.generate(proto, out)
    assert codegen.is_fresh(proto, out)
    digest = (out / codegen.STAMP).read_text().split()[0]
    (out / codegen.STAMP).write_text(f"{digest} 1.0.0")  # made by another grpcio-tools
    assert not codegen.is_fresh(proto, out)
    codegen.generate(proto, out)
    assert codegen.is_fresh(proto, out)
    proto.write_text(proto.read_text() + "\nmessage Added {}\n")
    assert not codegen.is_fresh(proto, out)
    codegen.generate(proto, out)
    assert "_globals['_ADDED']" in (out / "rti_pb2.py").read_text()


def test_a_missing_proto_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.proto"):
        codegen.generate(tmp_path / "nothing.proto", tmp_path / "_gen")
