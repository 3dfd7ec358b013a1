"""`python -m adapters.native`: build the native FMU stepping helper (see adapters/native/__init__.py)."""

from adapters.native import build

print(f"built {build()}")
