"""The rule pack: every registered rule with its parameters, and a tenant's overrides of them.

What each rule *is* (id, titles, source, confidence, parameters) is declared where it is
written (`registry`: `@obligation` in `obligations`, `@state_finding` / `@timeline_finding`
in `findings`); this module holds the pack-wide facts (§0 licence, §4 credit, alerts) and
checks overrides. A tenant changes parameters with `RulePack.with_overrides`; every computed
obligation and finding carries the parameter values it used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from types import MappingProxyType
from typing import Any

from .registry import registrations
from .rule import CONFIDENCES, DEFAULT_LADDER, NUMBER_KINDS, SEVERITIES, Rule

__all__ = ["CONFIDENCES", "DEFAULT_LADDER", "NUMBER_KINDS", "SEVERITIES", "Rule", "RulePack"]


LICENCE_FACTS = MappingProxyType({
    # §0: the call-centre licence and how to read a recorded category
    "call_centre_categories": ("B24", "B24-1", "B24-2"),
    "mislabel_categories": ("B21",),  # treated as the call-centre licence, with an info finding
    "validity_years": 5,  # shown in the docs; no longer assumed for a licence (the contract requires expires_on)
})

CREDIT = MappingProxyType({
    "window_months": 12,
    "min_coverage_months": 1,  # fewer months with traffic data: no score, a statement instead
    "complaints": MappingProxyType({"per_complaint_per_10k_calls": 3, "cap": 30}),
    "spot_checks": MappingProxyType({"per_failure_rate": 100, "cap": 30}),
    "critical_findings": MappingProxyType({"each": 10, "cap": 30}),
    "high_findings": MappingProxyType({"each": 5, "cap": 20}),
    # only these confidences deduct; the others are shown as overdue_advisory_obligations (rules.md §6)
    "overdue_obligations": MappingProxyType({"each": 5, "cap": 20, "confidences": ("statutory", "notice")}),
    "overdue_advisory_obligations": MappingProxyType({"each": 0, "cap": 0}),
    "penalties": MappingProxyType({"each": 5, "cap": 20}),
    "listings": MappingProxyType({"deduction": 20, "lists": ("bad", "dishonest")}),
    "bands": MappingProxyType({"good": 90, "watch": 80}),
    "alert": MappingProxyType({"below": 80, "drop": 10}),
})

ALERTS = MappingProxyType({
    # one decision pass making at least this many obligations of a company overdue (facts about the past)
    # sends one company.backlog digest instead of an obligation.overdue each; 0 turns the digest off
    "backlog_threshold": 3,
})


@dataclass(frozen=True)
class RulePack:
    """All rules with their parameters; immutable, cheap to share across companies."""

    rules: Mapping[str, Rule]
    due_soon_days: int = 30
    horizon_days: int = 731  # periodic obligations are generated this far past the latest fact
    licence: Mapping[str, Any] = field(default_factory=lambda: LICENCE_FACTS)
    credit: Mapping[str, Any] = field(default_factory=lambda: CREDIT)
    alerts: Mapping[str, Any] = field(default_factory=lambda: ALERTS)

    @classmethod
    def default(cls) -> RulePack:
        """Every registered rule with its declared parameters (built once)."""
        return _default()

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def params(self, rule_id: str) -> Mapping[str, Any]:
        return self.rules[rule_id].params

    def enabled(self, rule_id: str) -> bool:
        return self.rules[rule_id].enabled

    def obligation_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "obligation"]

    def finding_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "finding"]

    def with_overrides(self, overrides: Mapping[str, Any]) -> RulePack:
        """A tenant's pack: `{"rules": {id: {param: value}}, "credit": {...}, "licence": {...},
        "alerts": {"backlog_threshold": n}, "due_soon_days": n, "horizon_days": n}`. Unknown rules or parameters raise ValueError."""
        if not isinstance(overrides, Mapping):
            raise ValueError("overrides must be an object")
        top = {"rules", "credit", "licence", "alerts", "due_soon_days", "horizon_days"}
        unknown = sorted(set(overrides) - top)
        if unknown:
            raise ValueError(f"unknown override section(s) {unknown}; allowed: {sorted(top)}")
        rules = dict(self.rules)
        rule_overrides = overrides.get("rules", {})
        if not isinstance(rule_overrides, Mapping):
            raise ValueError("overrides.rules must be an object keyed by rule id")
        for rule_id, changes in rule_overrides.items():
            if rule_id not in rules:
                raise ValueError(f"unknown rule {rule_id!r}; known rules: {', '.join(sorted(rules))}")
            rule = rules[rule_id]
            rules[rule_id] = _replace_params(rule, _merge(rule.params, changes, f"rules.{rule_id}", rule_id))
        changed: dict[str, Any] = {"rules": MappingProxyType(rules)}
        for key in ("due_soon_days", "horizon_days"):
            if key in overrides:
                v = overrides[key]
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 3660:
                    raise ValueError(f"{key} must be an integer between 0 and 3660, got {v!r}")
                changed[key] = v
        for key in ("credit", "licence", "alerts"):
            if key in overrides:
                changed[key] = _merge(getattr(self, key), overrides[key], key, None)
        return RulePack(**{**self.__dict__, **changed})


def _replace_params(rule: Rule, params: Mapping[str, Any]) -> Rule:
    return Rule(**{**{f: getattr(rule, f) for f in rule.__dataclass_fields__}, "params": params})


def _merge(defaults: Mapping[str, Any], changes: Any, path: str, rule_id: str | None) -> Mapping[str, Any]:
    if not isinstance(changes, Mapping):
        raise ValueError(f"{path} must be an object")
    out = dict(defaults)
    for key, value in changes.items():
        where = f"{path}.{key}"
        if key not in defaults:
            raise ValueError(f"{path} has no parameter {key!r}; parameters: {', '.join(sorted(defaults))}")
        out[key] = _check(defaults[key], value, where, key, rule_id)
    return MappingProxyType(out)


def _check(default: Any, value: Any, where: str, key: str, rule_id: str | None) -> Any:
    if key == "severity":
        if value not in SEVERITIES:
            raise ValueError(f"{where} must be one of {SEVERITIES}, got {value!r}")
        return value
    if key == "roll":
        if value not in ("next", "previous", "none"):
            raise ValueError(f"{where} must be 'next', 'previous' or 'none', got {value!r}")
        return value
    if key == "windows":
        return _check_windows(value, where)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000_000_000:
            raise ValueError(f"{where} must be a non-negative integer, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
            raise ValueError(f"{where} must be a non-negative number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        if re.fullmatch(r"\d\d-\d\d", default) and not _is_month_day(value):
            raise ValueError(f"{where} must be a MM-DD day such as {default!r}, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} must be a list, got {value!r}")
        if key in ("reminders", "milestone_days"):
            if not all(isinstance(v, int) and not isinstance(v, bool) and -366 <= v <= 366 for v in value):
                raise ValueError(f"{where} must be a list of whole days (-366..366), got {value!r}")
            if len(set(value)) != len(value):
                raise ValueError(f"{where} lists a day twice: {value!r}")
            if key == "milestone_days" and (len(value) != len(default) or any(v <= 0 for v in value)):
                raise ValueError(f"{where} must list {len(default)} positive days before the window closes")
            return tuple(sorted(value, reverse=True))
        if not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where} must be a list of strings, got {value!r}")
        return tuple(value)
    if isinstance(default, Mapping):
        return _merge(default, value, where, rule_id)
    raise ValueError(f"{where} cannot be overridden")


def _is_month_day(value: str) -> bool:
    if not re.fullmatch(r"\d\d-\d\d", value):
        return False
    try:
        date(2024, int(value[:2]), int(value[3:]))
    except ValueError:
        return False
    return True


def _check_windows(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object keyed by window year or 'year/authority'")
    out = {}
    for key, window in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"\d{4}(/.+)?", key):
            raise ValueError(f"{where}: key {key!r} must be a window year ('2025') or 'year/authority'")
        if not isinstance(window, Mapping) or not window or set(window) - {"opens", "closes", "makeup_closes"}:
            raise ValueError(f"{where}.{key} must be an object with opens, closes and/or makeup_closes dates")
        parsed = {}
        for name, day in window.items():
            try:
                parsed[name] = date.fromisoformat(day) if isinstance(day, str) else None
            except ValueError:
                parsed[name] = None
            if parsed[name] is None:
                raise ValueError(f"{where}.{key}.{name} must be a YYYY-MM-DD date, got {day!r}")
        out[key] = MappingProxyType(parsed)
    return MappingProxyType(out)


@cache
def _default() -> RulePack:
    # asked for after the package has imported the rule modules (ledger_rules/__init__), never at import time
    return RulePack(MappingProxyType({reg.rule.id: reg.rule for reg in registrations()}))
