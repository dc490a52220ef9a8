"""NATS message headers, parsed at the speed a replay needs.

nats-py 2.16 parses every header block with a per-character whitespace scan of each
name (``any(c.isspace() for c in key)``): about 10 µs for the seven headers of a
direct-get reply, a third of the cost of reading LEDGER back. :func:`parse_header_lines`
gives the very same dictionary (a property test holds it to the original on arbitrary
bytes) with one regular-expression search per name. :func:`install` puts it in place
of the original for every client in this process (the transport, :mod:`ledger_kernel.connection`,
calls it when first imported); it is pinned to the nats-py version it was checked against and
does nothing on any other. tests/kernel/test_nats_upstream.py says when upstream no longer needs it.
"""

from __future__ import annotations

import re
from importlib.metadata import version

from nats.aio.client import Client

CHECKED_WITH = "2.16.0"
_CRLF = b"\r\n"
_SPACE = re.compile(r"\s")  # for str patterns: exactly what str.isspace() calls whitespace
ORIGINAL = Client.__dict__["_parse_header_lines"]


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """``Name: Value`` lines to a dict: names stripped and ASCII, without inner whitespace; values UTF-8."""
    out: dict[str, str] = {}
    for line in raw.split(_CRLF):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        try:
            key = name.strip().decode("ascii")
        except UnicodeDecodeError:
            continue
        if _SPACE.search(key) is not None:
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def install() -> bool:
    """Use :func:`parse_header_lines` in nats-py; False (and nothing changed) on an unchecked version."""
    if version("nats-py") != CHECKED_WITH or not isinstance(ORIGINAL, staticmethod):
        return False
    Client._parse_header_lines = staticmethod(parse_header_lines)  # type: ignore[method-assign]  # the work-around
    return True
