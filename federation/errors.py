"""Exceptions that carry fields and still cross process boundaries (pickling, as Ray ships them)."""

from __future__ import annotations

from typing import Any, cast

from federation.rti.time import to_seconds


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


class LinkLost(ConnectionError):
    """The link to the RTI failed (stream ended, session refused, no reply): not a federate's own failure."""


class FederationFailed(CarriesFields, RuntimeError):
    """The federation stopped: names the federate, its site (host) and the logical time.

    `reported`: the reason is the federate's own error (an FMU status with its log, a Python
    model's exception), which already names the federate and the time; it is then the whole
    message, so that every mode reports a federate's failure in the same words.
    """

    def __init__(self, federate: str, host: str, time: int, reason: str, reported: bool = False) -> None:
        super().__init__(reason if reported else
                         f"federation failed: federate {federate!r} on host {host!r} at t={to_seconds(time)} s: {reason}")
        self.federate, self.host, self.time, self.reason, self.reported = federate, host, time, reason, reported
