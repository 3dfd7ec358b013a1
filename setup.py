"""Build hook: generate the gRPC stubs of proto/federation/v1/rti.proto into the wheel.

Everything else about the package is in pyproject.toml. An installed wheel thus needs neither the
.proto nor grpcio-tools (a build requirement only). An editable install generates the stubs in place,
as the checkout does on first import (federation/protocol/stubs.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PROTO = HERE / "proto" / "federation" / "v1" / "rti.proto"
GEN = Path("federation", "protocol", "_gen")


def _codegen() -> ModuleType:
    """federation/protocol/codegen.py, loaded by path: the package itself cannot be imported while it is built."""
    spec = importlib.util.spec_from_file_location("federation_codegen", HERE / "federation" / "protocol" / "codegen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithStubs(build_py):
    """build_py, then the stubs: into the build folder, or in place for an editable install."""

    def run(self) -> None:
        super().run()
        codegen = _codegen()
        if self.editable_mode:
            codegen.generate(PROTO, HERE / GEN)  # unless fresh, like the checkout's first import
        else:
            codegen.generate(PROTO, Path(self.build_lib) / GEN, force=True)


setup(cmdclass={"build_py": BuildWithStubs})
