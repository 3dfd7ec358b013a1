"""`python -m federation.protocol`: regenerate the protobuf/gRPC stubs (what `make proto` runs)."""

from .stubs import generate

generate(force=True)
