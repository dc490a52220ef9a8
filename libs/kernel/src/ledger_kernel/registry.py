"""Event registry: type → payload model → schema version, with upcasters for old versions.

Old events are never rewritten; a reader upcasts them step by step to the current version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class CannotUpcast(LookupError):
    pass


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    payload_model: Any  # a pydantic model class
    owner: str  # the owning service
    aggregate_type: str


@dataclass
class EventRegistry:
    specs: dict[str, EventSpec] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    def register(self, spec: EventSpec) -> None:
        existing = self.specs.get(spec.type)
        if existing and existing != spec:
            raise ValueError(f"event type {spec.type} registered twice with different specs")
        self.specs[spec.type] = spec

    def spec(self, event_type: str) -> EventSpec:
        try:
            return self.specs[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning version ``from_version`` data into ``from_version + 1``."""

        def register(fn: Upcaster) -> Upcaster:
            self.upcasters[(event_type, from_version)] = fn
            return fn

        return register

    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring ``data`` of ``version`` up to the registered version of its type."""
        current = self.spec(event_type).version
        if version > current:
            raise CannotUpcast(f"{event_type} v{version} is newer than this reader (v{current})")
        while version < current:
            step = self.upcasters.get((event_type, version))
            if step is None:
                raise CannotUpcast(f"no upcaster for {event_type} v{version} → v{version + 1}")
            data = step(data)
            version += 1
        return data

    def types_of(self, owner: str) -> list[str]:
        return sorted(t for t, s in self.specs.items() if s.owner == owner)
