"""Upcasters: functions that turn an old payload version into the next one.

Events are never rewritten. When a payload changes incompatibly, its fact type
gets a new schema version in the catalogue and an entry here that turns a
version-N payload (as stored, JSON form) into version N+1; readers chain them
up to the current version. Key: (fact type, version upcast *from*).

Every fact type is at version 1 today, so there is nothing to upcast yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: Mapping[tuple[str, int], Upcaster] = MappingProxyType({})
