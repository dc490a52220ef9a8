"""Company histories kept in memory between batches, so a busy company is not read back each time.

Re-evaluating a company needs all of its facts. Reading them back from the read model
cost as much as evaluating them, so the projector keeps the histories it committed,
least recently used first out, up to a bound on the number of facts held
(``LEDGER_PROJECTOR_HISTORY_FACTS``, default 100,000): memory stays flat however long
the ledger grows. A history is only ever put here after the transaction that wrote its
last fact committed; anything uncertain (a failed batch, another writer, a rebuild
swap) clears it all, and the read model is asked again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ledger_projector.settings import ProjectorSettings

Row = dict[str, Any]


def default_limit() -> int:
    return ProjectorSettings.from_env().projector_history_facts


class Histories:
    def __init__(self, limit: int | None = None) -> None:
        self.limit = default_limit() if limit is None else limit
        self._rows: OrderedDict[str, list[Row]] = OrderedDict()
        self.size = 0  # facts held

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> list[Row] | None:
        rows = self._rows.get(key)
        if rows is not None:
            self._rows.move_to_end(key)
        return rows

    def put(self, key: str, rows: list[Row]) -> None:
        old = self._rows.pop(key, None)
        if old is not None:
            self.size -= len(old)
        if len(rows) > self.limit:
            return  # a history bigger than the whole budget is read back each time
        self._rows[key] = rows
        self.size += len(rows)
        while self.size > self.limit:
            _, evicted = self._rows.popitem(last=False)
            self.size -= len(evicted)

    def clear(self) -> None:
        self._rows.clear()
        self.size = 0
