"""What one rule is: its id, titles, source, confidence, severity and parameters (design/rules.md §0–§4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("critical", "high", "medium", "advisory", "info")
CONFIDENCES = ("statutory", "notice", "advisory", "estimate")
DEFAULT_LADDER = (30, 14, 7, 3, 1, 0, -1, -7, -14)  # days before due; 0 = the day; <0 = overdue
NUMBER_KINDS = ("fixed", "400", "95", "96", "virtual", "other")


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str  # "obligation" | "finding"
    title_zh: str
    title_en: str
    trigger: str  # when it applies (one line, for people)
    outcome: str  # obligations: the due date; findings: what is wrong
    source: str
    confidence: str
    params: Mapping[str, Any]
    fulfilled_by: str = ""
    informational: bool = False
    message_zh: str = ""
    message_en: str = ""
    note: str = ""  # what the seeds claimed and why we differ, or our own choice

    @property
    def enabled(self) -> bool:
        return bool(self.params.get("enabled", True))

    @property
    def severity(self) -> str:
        return self.params["severity"]
