"""Strict JSON (RFC 8259), read one way wherever a document comes in: the gateway, ``cmd.<service>``,
a fact's validation, an import file's rows.

Python's ``json`` takes ``NaN``, ``Infinity`` and ``-Infinity``, and lets the last of two equal keys
win; neither is JSON a client could mean. :func:`loads` refuses both (the second on request: a
document judged again later may leave duplicates to that judge), and bytes must be UTF-8.
"""

from __future__ import annotations

import json
from typing import Any


class NotJson(ValueError):
    """``NaN`` or ``Infinity``: Python reads them, JSON has no such value."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not JSON")
        self.name = name


class DuplicateKey(ValueError):
    """One object names the same key twice: the document is ambiguous."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key[:40]!r} appears twice in one object")
        self.key = key


def _no_constant(name: str) -> Any:
    raise NotJson(name)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def loads(document: str | bytes | bytearray, *, unique_keys: bool = True) -> Any:
    """The value of a JSON document. ValueError when it is not one: :class:`NotJson`, :class:`DuplicateKey`,
    ``UnicodeDecodeError`` (bytes that are not UTF-8) or ``json.JSONDecodeError``. RecursionError on
    nesting too deep for the parser."""
    text = bytes(document).decode("utf-8") if isinstance(document, bytes | bytearray) else document
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique if unique_keys else None)
