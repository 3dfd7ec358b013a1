"""Exceptions that carry fields and still cross process boundaries (pickling, as Ray ships them)."""

from __future__ import annotations

from typing import Any, cast


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
