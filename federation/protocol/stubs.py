"""Import the protobuf/gRPC stubs of rti.proto (generating them first in a checkout, when missing or stale).

An installed wheel carries stubs generated at build time (setup.py) and needs no grpcio-tools. A
checkout generates them from proto/federation/v1/rti.proto (with grpcio-tools, of the `dev` extra)
on first import or by `make proto`, and regenerates them when the .proto or the generator changes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from . import codegen

PROTO = Path(__file__).resolve().parents[2] / "proto" / "federation" / "v1" / "rti.proto"  # in a checkout only
GEN_DIR = Path(__file__).resolve().parent / "_gen"


def generate(force: bool = False) -> None:
    """Generate the stubs into _gen/ from the checkout's rti.proto, unless they are fresh (or force)."""
    codegen.generate(PROTO, GEN_DIR, force)


def _load() -> tuple[ModuleType, ModuleType]:
    if PROTO.is_file():  # a checkout (or an editable install): the .proto is the source of truth
        generate()
    elif not all((GEN_DIR / name).is_file() for name in codegen.STUBS):
        raise ImportError(f"{GEN_DIR}: no gRPC stubs, and no {PROTO} to generate them from: this installation "
                          "of federation is incomplete; reinstall it from a wheel, an sdist or a checkout")
    return (
        importlib.import_module(f"{__package__}._gen.rti_pb2"),
        importlib.import_module(f"{__package__}._gen.rti_pb2_grpc"),
    )


pb, pb_grpc = _load()
