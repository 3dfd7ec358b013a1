"""The federation object model: object classes, attributes and interaction classes, with handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .errors import (
    AttributeNotDefined,
    InteractionClassNotDefined,
    InteractionParameterNotDefined,
    ObjectClassNotDefined,
)


@dataclass(frozen=True)
class ClassDef:
    """An object or interaction class; member handles are indices into `members`."""

    handle: int
    name: str
    members: tuple[str, ...]
    member_handles: Mapping[str, int] = field(default_factory=dict)


def _classes(spec: Mapping[str, Sequence[str]]) -> dict[str, ClassDef]:
    # Handles follow sorted names so that every runtime agrees on them.
    out: dict[str, ClassDef] = {}
    for handle, name in enumerate(sorted(spec)):
        members = tuple(spec[name])
        if len(set(members)) != len(members):
            raise ValueError(f"class {name!r} lists a member twice")
        out[name] = ClassDef(handle, name, members, {m: i for i, m in enumerate(members)})
    return out


class FOM:
    """Immutable object model given when a federation execution is created."""

    def __init__(
        self,
        object_classes: Mapping[str, Sequence[str]] | None = None,
        interaction_classes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.object_classes = _classes(object_classes or {})
        self.interaction_classes = _classes(interaction_classes or {})
        self._objects_by_handle = {c.handle: c for c in self.object_classes.values()}
        self._interactions_by_handle = {c.handle: c for c in self.interaction_classes.values()}

    def object_class(self, name: str) -> ClassDef:
        try:
            return self.object_classes[name]
        except KeyError:
            raise ObjectClassNotDefined(f"object class {name!r} is not in the FOM") from None

    def object_class_by_handle(self, handle: int) -> ClassDef:
        try:
            return self._objects_by_handle[handle]
        except KeyError:
            raise ObjectClassNotDefined(f"object class handle {handle} is not in the FOM") from None

    def interaction_class(self, name: str) -> ClassDef:
        try:
            return self.interaction_classes[name]
        except KeyError:
            raise InteractionClassNotDefined(f"interaction class {name!r} is not in the FOM") from None

    def interaction_class_by_handle(self, handle: int) -> ClassDef:
        try:
            return self._interactions_by_handle[handle]
        except KeyError:
            raise InteractionClassNotDefined(f"interaction class handle {handle} is not in the FOM") from None

    @staticmethod
    def attribute_handles(cls: ClassDef, names: Sequence[str]) -> frozenset[int]:
        missing = [n for n in names if n not in cls.member_handles]
        if missing:
            raise AttributeNotDefined(f"object class {cls.name!r} has no attribute(s) {missing}")
        return frozenset(cls.member_handles[n] for n in names)

    @staticmethod
    def check_members(cls: ClassDef, handles: Mapping[int, object], interaction: bool = False) -> None:
        bad = [h for h in handles if not 0 <= h < len(cls.members)]
        if bad:
            kind = InteractionParameterNotDefined if interaction else AttributeNotDefined
            raise kind(f"class {cls.name!r} has no member handle(s) {bad}")
