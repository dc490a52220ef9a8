"""Canonical JSON: one byte string per value, so hashes are reproducible anywhere."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant white space, UTF-8, no NaN (RFC 8785 in spirit).

    Values must already be JSON types (str, int, float, bool, None, list, dict):
    dates and decimals are serialised by the payload models before they get here.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
