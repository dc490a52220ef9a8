"""Company states kept in memory between batches, so a busy company is neither read back nor folded again.

Re-evaluating a company needs all of its facts folded into the rule pack's ``History``. Reading
them back and folding them each batch made an event's cost grow with its company's history, so
the projector keeps, per company it committed: the facts, their fold, the evaluation, and the
obligation and finding rows as written (so a batch rewrites only the rows that changed). A new
batch folds only its new facts onto the kept History (``History.extend``; a fact dated among the
folded ones makes it fold the kept facts again, still without reading them back), and re-runs only
the rules whose fact families the new facts touch over the kept evaluation (``evaluate_again``: every
rule when the horizon, the pack or the calendar moved); the view reuses the rows of what did not change.

The cache is bounded: least recently used companies go first once it holds more than
``LEDGER_PROJECTOR_HISTORY_FACTS`` facts (default 100,000), so memory stays flat however long the
ledger grows; an evicted company is read back from the read model when next touched. It is only an
optimisation: a state is kept only after the transaction that wrote its last fact committed, and
anything uncertain (a failed batch, another writer, a rebuild swap) clears it all, so a cold start
and a warm one write the same read model.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger_rules.evaluation import Kept, evaluate_again
from ledger_rules.history import History

from ledger_projector.entries import Written
from ledger_projector.rulebook import CompanyView, Rulebook, company_name_in, recorded_facts
from ledger_projector.settings import ProjectorSettings

log = logging.getLogger(__name__)
Row = dict[str, Any]


def default_limit() -> int:
    """The facts the cache may hold (``LEDGER_PROJECTOR_HISTORY_FACTS``; default 100,000)."""
    return ProjectorSettings.from_env().projector_history_facts


@dataclass(eq=False)
class CompanyState:
    """One company as the projector last evaluated it."""

    key: str
    facts: list[Any] = field(default_factory=list)  # RecordedFact, in ledger order
    name: str | None = None
    history: History | None = None  # the facts folded with ``validity_years``; None: fold anew
    validity_years: int | None = None
    view: CompanyView | None = None  # the evaluation at rule book version ``version``
    kept: Kept | None = None  # … rule by rule, for the next facts to re-run only the rules they reach
    version: int = -1
    obligations: dict[str, Row] | None = None  # obligation_id → row as committed; None: not known
    findings: dict[str, Row] | None = None
    entries: Written | None = None  # the read entries as committed; None: not known
    said: dict[tuple[str, str], str | None] | None = None  # what the change feed last said; None: not known

    def grow(self, rows: Sequence[Mapping[str, Any]], rulebook: Rulebook) -> CompanyView:
        """Fold the fact ``rows`` that follow the kept ones (may be none) and evaluate again if
        anything changed: the same view as ``rulebook.evaluate`` over all the facts."""
        company = self.key.split(".", 1)[1]
        new = recorded_facts(company, rows)
        self.facts.extend(new)
        self.name = company_name_in(new, self.name)
        validity = rulebook.pack(self.key.split(".", 1)[0]).licence["validity_years"]
        try:
            if self.history is None or validity != self.validity_years or not self.history.extend(new):
                self.history = History.from_facts(self.facts, validity,
                                                  self.history.payloads if self.history is not None else None)
                self.validity_years = validity
        except Exception as exc:  # a fold that failed half-way is not kept
            self.history, self.kept = None, None
            self.view = rulebook.failed(self.key, exc, self.name)
            self.version = rulebook.version
            return self.view
        if new or self.view is None or self.version != rulebook.version:
            pack = rulebook.pack(self.key.split(".", 1)[0])
            try:
                evaluation, self.kept = evaluate_again(self.history, pack, rulebook.calendar, self.kept, new)
                self.view = CompanyView(self.key, evaluation, pack, name=self.name, before=self.view)
            except Exception as exc:  # as ``Rulebook.view``: one company's bad history must not stop the projector
                self.kept = None
                self.view = rulebook.failed(self.key, exc, self.name)
            self.version = rulebook.version
        return self.view


class Histories:
    """Company states, least recently used first out, up to ``limit`` facts held in all."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = default_limit() if limit is None else limit
        self._states: OrderedDict[str, CompanyState] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self.size = 0  # facts held

    def __len__(self) -> int:
        return len(self._states)

    def get(self, key: str) -> CompanyState | None:
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
        return state

    def put(self, state: CompanyState) -> None:
        """Keep ``state`` (again, after it grew); evict the least recently used beyond the limit."""
        self.size -= self._sizes.pop(state.key, 0)
        self._states.pop(state.key, None)
        if len(state.facts) > self.limit:
            return  # a history bigger than the whole budget is read back each time
        self._states[state.key] = state
        self._sizes[state.key] = len(state.facts)
        self.size += len(state.facts)
        while self.size > self.limit:
            key, _ = self._states.popitem(last=False)
            self.size -= self._sizes.pop(key)

    def clear(self) -> None:
        self._states.clear()
        self._sizes.clear()
        self.size = 0
