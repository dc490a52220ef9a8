"""CPython's garbage collector, set for a process that keeps a large heap: the projector's.

The projector keeps each busy company's folded history, evaluation and rows between batches
(hundreds of thousands of objects for a company of a thousand facts), and a batch allocates as
many again. With CPython's default thresholds (700, 10, 10) a young collection runs every 700
allocations and an older one every few batches, each walking objects that are never garbage:
in the bench's history stage that was a quarter to a third of a batch's time. Nothing the
projector builds relies on the collector (no reference cycles are made on purpose), so young
collections a seventieth as often cost memory only for the rare cycle, and what start-up built
(modules, the rule pack) is moved out of every collection once.

Called where a projector's process starts (``python -m ledger_projector``, a rebuild, a rebuild
worker) and by the bench before it measures the projector in its own process — never by the
services' code itself, so a test process keeps the interpreter's defaults.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 20)  # young, middle, old (CPython's defaults: 700, 10, 10)


def tune() -> None:
    """Freeze what exists now and collect less often (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
