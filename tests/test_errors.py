"""The project's exceptions: one root, three branches with their exit codes, and each survives pickling whole
(Ray hands a host's error to the driver that way)."""

from __future__ import annotations

import ast
import importlib
import pickle
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import grpc
import pytest

import adapters
import federation
from adapters.fmu.federate import FMUError
from adapters.python import PythonModelError
from adapters.replay import ReplayError
from federation.errors import (CarriesFields, ConfigurationError, FederationError, FederationFailed, LinkLost,
                               ModelError, RunFailure)
from adapters.fmu.archive import ArchiveError
from federation.kinds.interface import InterfaceError
from federation.results.plot import NothingToPlot
from federation.rti.errors import PermissionDenied, RTIError
from federation.runtime.embedded import FederationStalled
from federation.runtime.coordinator import CoordinationFailed
from federation.runtime.launch import HostExited
from federation.transport.grpc import ConnectionLost, NoReply, SessionRefused
from federation.kinds import StaleModules
from federation.runtime.outputs import OutputRefused
from federation.runtime.ray import PlacementError
from federation.server.sessions import ProtocolViolation
from federation.sweeps import SweepError
from federation.scenario import Problem, ScenarioError
from federation.security.audit import AuditError, AuditUnreadable
from federation.security.certs import CertificateError
from federation.security.policy import PolicyError
from federation.security.tunable import ParameterNotTunable

ROOT = Path(__file__).resolve().parents[1]
BRANCHES = {ConfigurationError: 2, ModelError: 1, RunFailure: 1}

# Exceptions of ours that are not FederationErrors, and why. Private ones (a leading _) are internal signals
# caught where they are raised (YAML reader, audit reader, archive reader) and are not listed.
NOT_FEDERATION_ERRORS: dict[str, str] = {
    # Raised on a host to unwind its loop when the RTI says the run ended where a model asked it to: a complete
    # run, which the host reports with exit code 0.
    "federation.errors.FederationEnded": "not an error",
}


def _sources() -> list[Path]:
    return [p for folder in ("federation", "adapters") for p in sorted((ROOT / folder).rglob("*.py"))
            if "_gen" not in p.parts]


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (federation, adapters):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, BaseException)
                        and value.__module__.startswith(("federation", "adapters"))):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_class_is_defined_at_module_level_where_the_walk_over_modules_finds_it() -> None:
    nested = [f"{path.relative_to(ROOT)}: {node.name}" for path in _sources()
              for top in ast.parse(path.read_text()).body for node in ast.walk(top)
              if isinstance(node, ast.ClassDef) and node is not top]
    assert nested == []


def test_every_exception_is_a_federation_error_in_exactly_one_branch() -> None:
    classes = [c for c in _exception_classes() if not c.__name__.startswith("_")]
    assert len(classes) > 50 and FMUError in classes and RTIError in classes
    outside = [_name(c) for c in classes if not issubclass(c, FederationError)]
    assert sorted(outside) == sorted(NOT_FEDERATION_ERRORS)
    roots = {FederationError, *BRANCHES}
    branches = {_name(c): [b.__name__ for b in BRANCHES if issubclass(c, b)] for c in classes
                if c not in roots and _name(c) not in NOT_FEDERATION_ERRORS}
    assert {name: found for name, found in branches.items() if len(found) != 1} == {}


def test_each_branch_has_its_exit_code_and_every_error_its_branchs() -> None:
    assert ConfigurationError.exit_code == 2 and ModelError.exit_code == 1 and RunFailure.exit_code == 1
    for cls in _exception_classes():
        for branch, code in BRANCHES.items():
            if issubclass(cls, branch):
                assert cls.exit_code == code, _name(cls)  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls, branch, also", [
    (ScenarioError, ConfigurationError, Exception), (PolicyError, ConfigurationError, Exception),
    (CertificateError, ConfigurationError, Exception), (SweepError, ConfigurationError, ValueError),
    (ParameterNotTunable, ConfigurationError, ValueError), (OutputRefused, ConfigurationError, Exception),
    (AuditError, ConfigurationError, Exception), (AuditUnreadable, ConfigurationError, AuditError),
    (ArchiveError, ConfigurationError, ValueError), (InterfaceError, ConfigurationError, Exception),
    (FMUError, ModelError, RuntimeError), (PythonModelError, ModelError, RuntimeError),
    (ReplayError, ModelError, RuntimeError), (StaleModules, ModelError, Exception),
    (FederationFailed, RunFailure, RuntimeError), (HostExited, RunFailure, RuntimeError),
    (FederationStalled, RunFailure, RuntimeError), (PlacementError, RunFailure, RuntimeError),
    (CoordinationFailed, RunFailure, RuntimeError),
    (LinkLost, RunFailure, ConnectionError), (ConnectionLost, RunFailure, LinkLost),
    (SessionRefused, RunFailure, LinkLost), (NoReply, RunFailure, TimeoutError),
    (RTIError, RunFailure, Exception), (PermissionDenied, RunFailure, RTIError),
    (ProtocolViolation, RunFailure, Exception), (NothingToPlot, RunFailure, ValueError),
])
def test_each_error_has_its_branch_and_keeps_the_base_its_callers_catch(cls: type, branch: type, also: type) -> None:
    assert issubclass(cls, branch) and issubclass(cls, also)


def test_the_errors_module_is_a_leaf_that_any_layer_may_import_first() -> None:
    """The RTI core derives its errors from it: it must import nothing of the project when loaded."""
    tree = ast.parse((ROOT / "federation" / "errors.py").read_text())
    loaded = [n for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
              for n in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])]
    assert [n for n in loaded if n.split(".")[0] in ("federation", "adapters")] == []
    for first in ("federation.errors", "federation.rti", "adapters.python"):
        code = f"import {first}, federation.errors, federation.rti; print(federation.rti.errors.RTIError.exit_code)"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 0 and done.stdout == "1\n", done.stderr


def test_every_exception_with_its_own_init_carries_its_fields() -> None:
    classes = _exception_classes()
    assert FederationFailed in classes and len(classes) > 20
    own_init = [c for c in classes if any("__init__" in vars(k) for k in c.__mro__
                                          if k.__module__.startswith(("federation", "adapters")))]
    assert FederationFailed in own_init
    assert [c.__qualname__ for c in own_init if not issubclass(c, CarriesFields)] == []


def test_field_carrying_errors_round_trip() -> None:
    problems = [Problem("federates.grid.fmu", "no such file")]
    samples: list[BaseException] = [
        FederationFailed("furnace", "furnace_maker", 5_000_000_000, "T_set must be positive"),
        HostExited("host of site 'beta' was killed by SIGKILL", "beta", True),
        ProtocolViolation(grpc.StatusCode.INVALID_ARGUMENT, "bad frame"),
        ScenarioError(Path("s.yaml"), problems),
        PolicyError(Path("p.yaml"), problems),
        AuditError(Path("audit.log"), 3, "hash chain broken"),
        NoReply("no reply within 30 s"),
    ]
    for exc in samples:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc) and back.args == exc.args
        assert vars(back) == vars(exc), type(exc).__name__
        assert type(back).exit_code == type(exc).exit_code  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------- the CLI's exit codes

CLI = [sys.executable, "-m", "federation.cli"]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"


def federation_cli(*args: str, cwd: Path = ROOT) -> tuple[int, str]:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    return done.returncode, " ".join(done.stderr.split())


def test_the_cli_catches_no_exception_wholesale() -> None:
    """Errors become exit codes by their branch (federation.errors), in one place; a bug keeps its traceback."""
    wholesale = [f"{path.name}:{node.lineno}" for path in sorted((ROOT / "federation" / "cli").glob("*.py"))
                 for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ExceptHandler)
                 and (node.type is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                               for n in ast.walk(node.type)))]
    assert wholesale == []


def test_a_configuration_error_ends_the_cli_with_2(tmp_path: Path) -> None:
    (tmp_path / "notes.fmu").write_text("not a zip")
    code, said = federation_cli("inspect", str(tmp_path / "notes.fmu"))
    assert code == 2 and "Traceback" not in said and f"{tmp_path / 'notes.fmu'}: not an FMU" in said, said
    code, said = federation_cli("certs", "issue", str(tmp_path / "none"), "--site", "a")
    assert code == 2 and "Traceback" not in said and str(tmp_path / "none") in said, said
    # Nothing ran: a host given a site that owns no federate is wrongly invoked (it said exit 1 before).
    code, said = federation_cli("host", str(FLAGSHIP), "--site", "nobody", "--rti", "127.0.0.1:1", "--wait", "1")
    assert code == 2 and "no federate owned by site 'nobody'" in said, said


def test_a_model_error_ends_the_cli_with_1(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(textwrap.dedent("""
        class Fails:
            inputs = []
            outputs = {"y": "1"}
            def step(self, t, dt, inputs):
                raise ZeroDivisionError("boom")
        """))
    (tmp_path / "scenario.yaml").write_text(textwrap.dedent("""
        federation: fails
        time: {start: 0.0, stop: 2.0, step: 1.0}
        federates:
          f: {python: "models:Fails", site: lab}
        """))
    code, said = federation_cli("run", "scenario.yaml", "--no-plot", "--out", "out", cwd=tmp_path)
    assert code == 1 and "Traceback" not in said and "run failed:" in said and "ZeroDivisionError: boom" in said, said


def test_a_run_failure_ends_the_cli_with_1() -> None:
    code, said = federation_cli("host", str(FLAGSHIP), "--site", "utility", "--rti", "127.0.0.1:1", "--wait", "1")
    assert code == 1 and "Traceback" not in said and "cannot join federation" in said, said


def test_an_rti_that_does_not_answer_the_coordinator_is_a_run_failure_naming_it(tmp_path: Path) -> None:
    """It was a raw grpc.RpcError, which the CLI, catching no exception wholesale, would show as a traceback."""
    from federation.runtime.coordinator import wait_ready
    from federation.scenario import load_scenario

    (tmp_path / "models.py").write_text("class Source:\n    inputs = []\n    outputs = {'y': '1'}\n"
                                        "    def step(self, t, dt, inputs):\n        return {'y': t}\n")
    (tmp_path / "scenario.yaml").write_text("federation: quiet\ntime: {start: 0.0, stop: 1.0, step: 1.0}\n"
                                            "federates:\n  s: {python: 'models:Source', site: lab}\n")
    with pytest.raises(CoordinationFailed, match=r"the RTI at 127\.0\.0\.1:1 did not report on federation 'quiet': UNAVAILABLE"):
        wait_ready("127.0.0.1:1", load_scenario(tmp_path / "scenario.yaml"), lambda: None, 5.0)
