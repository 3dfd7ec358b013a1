"""The dependency rules of the architecture, checked on the source: layers only point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The shell around the core: running, serving, transports, sweeps.
RUNTIME = ("federation.runtime", "federation.server", "federation.transport", "federation.sweeps")


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
                    # `from a.b import c` where c is a module of its own imports a.b.c too
                    folder_of = ROOT.joinpath(*(node.module or "").split("."))
                    names |= {f"{node.module}.{a.name}" for a in node.names
                              if (folder_of / f"{a.name}.py").is_file() or (folder_of / a.name / "__init__.py").is_file()}
        out[str(path.relative_to(ROOT))] = names
    return out


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{file}: {name}" for file, names in imports(ROOT / folder).items() for name in names
                  if any(name == f or name.startswith(f + ".") for f in forbidden))


def test_rti_core_is_pure() -> None:
    assert offenders("federation/rti", ("grpc", "ray", *RUNTIME, "federation.protocol", "socket",
                                        "threading", "asyncio", "subprocess", "federation.scenario", "adapters")) == []
    # Of the rest of the project, only the exceptions' dependency-free leaf.
    assert [o for o in offenders("federation/rti", ("federation",))
            if o.split(": ")[1].split(".")[:2] not in (["federation", "rti"], ["federation", "errors"])] == []


@pytest.mark.parametrize("layer", ["federation.rti", *RUNTIME, "federation.protocol", "grpc", "ray"])
def test_adapters_talk_to_the_federation_only_through_the_ambassador(layer: str) -> None:
    assert offenders("adapters", (layer,)) == []


# What an adapter may use of the federation: the ambassador, what the scenario tells a stepped federate
# (coupling), the kind protocol with the interface types (kinds) and how arrays are named (kinds.arrays), and the
# leaf helpers for messages.
ADAPTERS_MAY_IMPORT = ("federation.ambassador", "federation.coupling", "federation.kinds", "federation.kinds.interface",
                       "federation.kinds.arrays", "federation.clip", "federation.errors")


def test_adapters_import_nothing_of_the_federation_but_the_ambassador_and_the_kind_protocol() -> None:
    found = [f"{file}: {name}" for file, names in imports(ROOT / "adapters").items() for name in names
             if name.startswith("federation") and name not in ADAPTERS_MAY_IMPORT]
    assert found == []


def test_the_federation_package_never_imports_adapters() -> None:
    """It finds the kinds through the registry (entry points): an owner can add a kind without touching it."""
    assert offenders("federation", ("adapters",)) == []


def test_fmu_archive_checks_are_a_leaf() -> None:
    """They read hostile files first, so they bring nothing along but the standard library."""
    names = imports(ROOT / "adapters")["adapters/fmu/archive.py"] - {"federation.errors"}  # a leaf too
    assert not {n for n in names if n.split(".")[0] in ("federation", "adapters", "fmpy", "lxml", "grpc", "ray")}


def test_scenario_layer_knows_nothing_of_runtimes() -> None:
    found = [o for o in offenders("federation", (*RUNTIME, "federation.cli"))
             if o.startswith(("federation/scenario/", "federation/kinds/", "federation/rti/"))]
    assert found == []


def test_security_knows_nothing_of_results_runtimes_or_the_cli() -> None:
    """Security is used by the runtimes and the CLI; the names it shares with results live in federation.names."""
    assert offenders("federation/security", ("federation.results", "federation.runtime", "federation.cli")) == []


def _imported_names(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every `from module import name` in a file, and (module, "") for `import module`."""
    out: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out += [(node.module or "", a.name) for a in node.names]
    return out


def test_the_cli_imports_no_protocol_and_only_the_public_names_of_the_server() -> None:
    """The CLI parses options and prints; it reaches the server through `federation.server`'s `__all__` only."""
    import federation.server

    found = [f"{module} {name}".strip() for path in sorted((ROOT / "federation" / "cli").glob("*.py"))
             for module, name in _imported_names(path)
             if module == "federation.protocol" or module.startswith(("federation.protocol.", "federation.server."))
             or (module == "federation.server" and name not in federation.server.__all__)
             or (module == "federation" and name in ("protocol", "server"))]
    assert found == []


def test_a_federations_state_on_the_server_is_plain() -> None:
    """No protocol message, gRPC or event loop in it: the service encodes at its edge (sessions, wire)."""
    found = [o for o in offenders("federation/server", ("federation.protocol", "grpc", "asyncio"))
             if o.startswith(("federation/server/federations.py:", "federation/server/limits.py:"))]
    assert found == []


def test_nothing_imports_another_modules_private_names() -> None:
    """A module's `_name` is its own: what another module needs is given a public name where it lives."""
    found = [f"{file}: from {module} import {name}"
             for folder in ("federation", "adapters") for path in sorted((ROOT / folder).rglob("*.py"))
             if "_gen" not in path.parts
             for file, (module, name) in ((str(path.relative_to(ROOT)), pair) for pair in _imported_names(path))
             if name.startswith("_") and not name.startswith("__")]
    assert found == []
