"""Where rules register: each rule is one decorated function, declared where it is written.

    @obligation("number-filing", "码号备案", "Number filing", facts=("number.allocated", "number.filed"), ...)
    def _number_filing(ctx, rule): ...

The declaration says what the rule *is* — id, titles, the facts it reads, source, confidence,
severity and parameters — and the function says how it is computed. Everything else is
derived from the registrations: the default pack (`RulePack.default`), the trigger families a
state rule is re-evaluated on, the rule ids and fact links that contracts publish
(`python -m ledger_rules.vocabulary`) and docs/rules.md.

Trigger families (`Registration.reads`) are the fact families (`FAMILIES`) of the facts a
rule reads: a fact of another family never changes what a state rule says about a day (the
tests walk every state rule on every fact day to hold this). Obligations and timeline
findings are also bounded by the evaluation's horizon, which any later fact may move.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from ledger_contracts.catalogue import CATALOGUE

from .rule import CONFIDENCES, DEFAULT_LADDER, SEVERITIES, Rule

FAMILIES: Mapping[str, str] = MappingProxyType({
    # fact type prefix → the family of facts (the part of a company's history) it belongs to
    "company": "company",
    "licence": "licence",
    "outsourcing": "outsourcing",
    "number": "numbers",
    "numbering": "numbers",
    "traffic": "traffic",
    "workforce": "workforce",
    "site": "sites",
    "facility": "systems",
    "penalty": "penalties",
    "listing": "listings",
})

EVERY_OBLIGATION_READS = ("company.obligation_waived", "company.tracking_started")
"""A waiver and the onboarding baseline apply to any obligation: every obligation rule reads them."""

CREDIT_ESTIMATE = "credit-estimate"
"""The credit estimate (rules.md §4) is no rule of the pack, but it reads facts too."""

KINDS = ("obligation", "state", "timeline")

F = TypeVar("F", bound=Callable[..., Any])


def family_of(fact_type: str) -> str | None:
    """The family of a fact type (`licence.renewed` → `licence`), None for a type of no family."""
    return FAMILIES.get(fact_type.split(".", 1)[0])


@dataclass(frozen=True, slots=True)
class Registration:
    """One rule as declared: the pack's `Rule`, how it is computed, and the facts it reads.

    `mode`: `obligation` (fn(ctx, rule) → drafts), `state` (fn(ctx, day, params) → hits, re-evaluated
    on each day a fact of its trigger families happens) or `timeline` (fn(ctx, rule) → (subject, track)
    pairs built from dated records)."""

    rule: Rule
    mode: str
    fn: Callable[..., Any]
    facts: tuple[str, ...]
    reads: frozenset[str]  # the trigger families: the families of the facts the rule reads


_REGISTERED: dict[str, Registration] = {}
_OTHER_READERS: dict[str, tuple[str, ...]] = {}


def _register(mode: str, rule: Rule, facts: tuple[str, ...]) -> Callable[[F], F]:
    _check(rule, facts)

    def register(fn: F) -> F:
        if rule.id in _REGISTERED:
            raise ValueError(f"rule {rule.id!r} is registered twice")
        families = frozenset(f for f in (family_of(t) for t in facts) if f is not None)
        _REGISTERED[rule.id] = Registration(rule, mode, fn, facts, families)
        return fn

    return register


def _check(rule: Rule, facts: tuple[str, ...]) -> None:
    unknown = [t for t in facts if t not in CATALOGUE]
    if unknown:
        raise ValueError(f"rule {rule.id!r} reads unknown fact types {unknown}")
    if len(set(facts)) != len(facts):
        raise ValueError(f"rule {rule.id!r} lists a fact type twice")
    if rule.confidence not in CONFIDENCES or rule.severity not in SEVERITIES:
        raise ValueError(f"rule {rule.id!r}: confidence must be one of {CONFIDENCES}, severity one of {SEVERITIES}")


def obligation(id: str, title_zh: str, title_en: str, *, facts: tuple[str, ...], trigger: str, outcome: str,
               fulfilled_by: str, source: str, confidence: str, severity: str, informational: bool = False,
               note: str = "", reminders: tuple[int, ...] = DEFAULT_LADDER, **params: Any) -> Callable[[F], F]:
    """Register an obligation rule: the function yields the company's drafts of it."""
    base = {"enabled": True, "severity": severity, "reminders": () if informational else tuple(reminders)}
    rule = Rule(id, "obligation", title_zh, title_en, trigger, outcome, source, confidence,
                MappingProxyType({**base, **params}), fulfilled_by, informational, note=note)
    return _register("obligation", rule, (*facts, *(t for t in EVERY_OBLIGATION_READS if t not in facts)))


def _finding(mode: str, id: str, title_zh: str, title_en: str, facts: tuple[str, ...], trigger: str, source: str,
             confidence: str, severity: str, message_zh: str, message_en: str, note: str,
             params: dict[str, Any]) -> Callable[[F], F]:
    rule = Rule(id, "finding", title_zh, title_en, trigger, trigger, source, confidence,
                MappingProxyType({"enabled": True, "severity": severity, **params}),
                message_zh=message_zh, message_en=message_en, note=note)
    return _register(mode, rule, facts)


def state_finding(id: str, title_zh: str, title_en: str, *, facts: tuple[str, ...], trigger: str, source: str,
                  confidence: str, severity: str, message_zh: str, message_en: str, note: str = "",
                  **params: Any) -> Callable[[F], F]:
    """Register a finding about the company's state on a day: fn(ctx, day, params) → {subject: hit}."""
    return _finding("state", id, title_zh, title_en, facts, trigger, source, confidence, severity, message_zh,
                    message_en, note, params)


def timeline_finding(id: str, title_zh: str, title_en: str, *, facts: tuple[str, ...], trigger: str, source: str,
                     confidence: str, severity: str, message_zh: str, message_en: str, note: str = "",
                     **params: Any) -> Callable[[F], F]:
    """Register a finding built from dated records and obligations: fn(ctx, rule) → (subject, track) pairs."""
    return _finding("timeline", id, title_zh, title_en, facts, trigger, source, confidence, severity, message_zh,
                    message_en, note, params)


def reads(reader: str, facts: tuple[str, ...]) -> None:
    """Declare the facts read by something that is not a rule of the pack (the credit estimate)."""
    if any(t not in CATALOGUE for t in facts):
        raise ValueError(f"{reader!r} reads unknown fact types {[t for t in facts if t not in CATALOGUE]}")
    _OTHER_READERS[reader] = tuple(facts)


def registrations() -> tuple[Registration, ...]:
    """Every registered rule: obligations first, then findings, each in the order they are written."""
    regs = tuple(_REGISTERED.values())
    return tuple(r for r in regs if r.mode == "obligation") + tuple(r for r in regs if r.mode != "obligation")


def registration(rule_id: str) -> Registration:
    return _REGISTERED[rule_id]


def fact_links() -> dict[str, tuple[str, ...]]:
    """Fact type → the rules (and other readers) that read it, in catalogue order; unread types left out."""
    links: dict[str, list[str]] = {t: [] for t in CATALOGUE}
    for reg in registrations():
        for t in reg.facts:
            links[t].append(reg.rule.id)
    for reader, facts in _OTHER_READERS.items():
        for t in facts:
            links[t].append(reader)
    return {t: tuple(ids) for t, ids in links.items() if ids}


def facts_read_by(reader: str) -> tuple[str, ...]:
    """The facts something that is not a rule of the pack declared it reads (`reads`)."""
    return _OTHER_READERS[reader]


def other_readers() -> tuple[str, ...]:
    return tuple(_OTHER_READERS)
