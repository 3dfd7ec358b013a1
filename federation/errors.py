"""The project's exceptions: one root, three branches, each with the exit code the CLI ends with.

- `ConfigurationError` (exit 2): the inputs are wrong (scenario, policy, certificates, sweep options,
  an untunable parameter, a refused output folder, an unreadable model file); nothing ran.
- `ModelError` (exit 1): a model failed (an FMU, a Python model, a replay).
- `RunFailure` (exit 1): the run failed (a failed federation, a lost host or link, a stall, an
  illegal RTI call).

A leaf: it imports nothing of the project at import time, so that every layer, the RTI core and the
adapters included, may derive its errors from these (tests/test_layers.py).
"""

from __future__ import annotations

from typing import Any, ClassVar, cast


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], fields: dict[str, Any]) -> BaseException:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(fields)
    return exc


class CarriesFields:
    """Mixin for an exception whose __init__ takes fields rather than its message.

    Pickle rebuilds an exception as cls(*args), which fails for such a class; a Ray host's
    error then reached the driver as "Failed to deserialize exception" instead of its reason.
    This rebuilds it from its args and fields, calling no __init__.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        exc = cast(BaseException, self)
        return (_rebuild, (type(exc), exc.args, dict(exc.__dict__)))


class FederationError(Exception):
    """Root of every error this project raises on purpose; `exit_code` is the CLI's for its branch."""

    exit_code: ClassVar[int] = 1


class ConfigurationError(FederationError):
    """The inputs are wrong (a file, a key, an option): nothing ran; fix them and run again."""

    exit_code: ClassVar[int] = 2


class ModelError(FederationError):
    """A model failed: an FMU, a Python model or a replay series."""

    exit_code: ClassVar[int] = 1


class RunFailure(FederationError):
    """The run failed: the federation, a host, the link to the RTI, or a call the RTI refused."""

    exit_code: ClassVar[int] = 1


class LinkLost(RunFailure, ConnectionError):
    """The link to the RTI failed (stream ended, session refused, no reply): not a federate's own failure."""


class FederationFailed(CarriesFields, RunFailure, RuntimeError):
    """The federation stopped: names the federate, its site (host) and the logical time.

    `reported`: the reason is the federate's own error (an FMU status with its log, a Python
    model's exception), which already names the federate and the time; it is then the whole
    message, so that every mode reports a federate's failure in the same words.
    """

    def __init__(self, federate: str, host: str, time: int, reason: str, reported: bool = False) -> None:
        # Imported here: the RTI core derives its errors from this module, which must not import it back.
        from federation.rti.time import to_seconds

        super().__init__(reason if reported else
                         f"federation failed: federate {federate!r} on host {host!r} at t={to_seconds(time)} s: {reason}")
        self.federate, self.host, self.time, self.reason, self.reported = federate, host, time, reason, reported


class FederationEnded(CarriesFields, Exception):
    """The run ended where a model asked it to (the RTI told this host): not a failure. The federates here
    stop where they are; the recorder has every row up to `time`."""

    def __init__(self, federate: str, time: int, reason: str) -> None:
        from federation.rti.time import to_seconds

        super().__init__(f"the run ended at t={to_seconds(time)} s: federate {federate!r}: {reason}")
        self.federate, self.time, self.reason = federate, time, reason
