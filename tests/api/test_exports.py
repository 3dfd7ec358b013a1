"""The public surface of `import federation`: pinned, importable, documented, and loaded only when used."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib.metadata import version

import federation
import federation.api

EXPORTS = [
    "CaseRun",
    "Check",
    "Comparison",
    "ConfigurationError",
    "FederateInterface",
    "FederationError",
    "FederationFailed",
    "InterfaceError",
    "ModelError",
    "OutputRefused",
    "Problem",
    "Run",
    "RunFailure",
    "Scenario",
    "ScenarioError",
    "Series",
    "SignalComparison",
    "SuiteError",
    "SuiteResult",
    "SweepError",
    "SweepResult",
    "SweepRun",
    "Timings",
    "Tolerance",
    "Tolerances",
    "Uniform",
    "VariableInfo",
    "compare",
    "inspect",
    "run",
    "sweep",
    "test",
    "write_junit",
    "write_report",
]


def test_the_exports_are_pinned() -> None:
    assert federation.__all__ == EXPORTS
    assert federation.api.__all__ == EXPORTS


def test_every_export_is_importable_and_documented() -> None:
    namespace: dict[str, object] = {}
    exec("from federation import *", namespace)
    for name in EXPORTS:
        value = getattr(federation, name)
        assert namespace[name] is value is getattr(federation.api, name)
        assert (inspect.getdoc(value) or "").strip(), f"{name} has no docstring"
        for member, attribute in vars(value).items() if isinstance(value, type) else []:
            if not member.startswith("_") and inspect.isfunction(attribute):
                assert (inspect.getdoc(attribute) or "").strip(), f"{name}.{member} has no docstring"
    assert (federation.__doc__ or "").strip() and (federation.api.__doc__ or "").strip()


def test_the_version_stays_and_is_the_package_version() -> None:
    assert federation.__version__ == version("federation")


def test_unknown_names_are_attribute_errors() -> None:
    try:
        federation.not_a_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "not_a_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_importing_a_submodule_does_not_load_the_api() -> None:
    """A host or the RTI imports federation.<something>: that must not bring the API (and all it imports)."""
    code = "import sys, federation.rti.execution; print('federation.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_exports_survive_importing_every_module_of_the_package() -> None:
    """A subpackage named like an export (federation/run/) would replace the function once imported."""
    code = """if True:
        import importlib, pkgutil, federation
        names = [m.name for m in pkgutil.walk_packages(federation.__path__, "federation.")
                 if not m.name.endswith("__main__")]
        for name in names:
            importlib.import_module(name)
        import federation.api as api
        print([n for n in federation.__all__ if getattr(federation, n) is not getattr(api, n)])
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
