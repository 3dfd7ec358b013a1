"""The project's exceptions survive pickling whole: Ray hands a host's error to the driver that way."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from pathlib import Path

import grpc

import adapters
import federation
from federation.errors import CarriesFields
from federation.run.launch import HostExited
from federation.errors import FederationFailed
from federation.server.state import ProtocolViolation
from federation.scenario import Problem, ScenarioError
from federation.security.audit import AuditError
from federation.security.policy import PolicyError


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
    ]
    for exc in samples:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc) and back.args == exc.args
        assert vars(back) == vars(exc), type(exc).__name__
