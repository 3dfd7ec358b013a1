"""The dependency rules of the architecture, checked on the source: layers only point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports(folder: Path) -> dict[str, set[str]]:
    """Absolute module names imported by each file below `folder` (relative imports resolved)."""
    out: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        if "_gen" in path.parts:
            continue
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    names.add(".".join(base + ([node.module] if node.module else [])))
                else:
                    names.add(node.module or "")
        out[str(path.relative_to(ROOT))] = names
    return out


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{file}: {name}" for file, names in imports(ROOT / folder).items() for name in names
                  if any(name == f or name.startswith(f + ".") for f in forbidden))


def test_rti_core_is_pure() -> None:
    assert offenders("federation/rti", ("grpc", "ray", "federation.runtime", "federation.protocol", "socket",
                                        "threading", "asyncio", "subprocess", "federation.scenario", "adapters")) == []
    # Of the rest of the project, only the exceptions' dependency-free leaf.
    assert [o for o in offenders("federation/rti", ("federation",))
            if o.split(": ")[1].split(".")[:2] not in (["federation", "rti"], ["federation", "errors"])] == []


@pytest.mark.parametrize("layer", ["federation.rti", "federation.runtime", "federation.protocol", "grpc", "ray"])
def test_adapters_talk_to_the_federation_only_through_the_ambassador(layer: str) -> None:
    assert offenders("adapters", (layer,)) == []


# The ambassador, the FMU archive checks that the scenario's checks and the FMU adapter share, and the
# exceptions' root: leaves.
ADAPTERS_MAY_IMPORT = ("federation.ambassador", "federation.fmu_archive", "federation.errors")


def test_adapters_import_nothing_of_the_federation_but_the_ambassador() -> None:
    found = [f"{file}: {name}" for file, names in imports(ROOT / "adapters").items() for name in names
             if name.startswith("federation") and name not in ADAPTERS_MAY_IMPORT]
    assert found == []


def test_fmu_archive_checks_are_a_leaf() -> None:
    """Adapters may use them, so they must not bring the federation's internals (or anything but stdlib) along."""
    names = imports(ROOT / "federation")["federation/fmu_archive.py"] - {"federation.errors"}  # a leaf too
    assert not {n for n in names if n.split(".")[0] in ("federation", "adapters", "fmpy", "lxml", "grpc", "ray")}


def test_scenario_layer_knows_nothing_of_runtimes() -> None:
    found = [o for o in offenders("federation", ("federation.runtime", "federation.cli"))
             if o.startswith(("federation/scenario.py", "federation/interfaces.py", "federation/rti/"))]
    assert found == []
