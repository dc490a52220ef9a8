"""``python -m ledger_domain.contracts [--check]``: the contracts generator plus the AsyncAPI writer.

ledger_contracts.generate writes the JSON Schemas and docs/events.md; the AsyncAPI
document comes from the services, which contracts must not import. This entry
point registers the AsyncAPI writer and runs the same generator, so one command
(``make contracts``) writes — or with ``--check`` verifies — every generated file.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ledger_contracts import generate

from ledger_domain import asyncapi

WRITER = generate.Writer("asyncapi", asyncapi.render, owns=asyncapi.PATH)


def register() -> None:
    """Add the AsyncAPI writer to the generator (once)."""
    if not any(w.name == WRITER.name for w in generate.WRITERS):
        generate.register_writer(WRITER)


def main(argv: Sequence[str] | None = None) -> int:
    register()
    return generate.main(argv)


if __name__ == "__main__":
    sys.exit(main())
