"""Render docs/events.md, the event catalogue page, from the catalogue and the schemas.

The page is generated so it cannot drift from the code: it lists every fact
type with its owner, aggregate, fields, meaning and the rules that read it.
"""

from __future__ import annotations

import inspect
from typing import Any

from .catalogue import CATALOGUE, FactSpec
from .errors import ERROR_CODES
from .facts import past_date_fields
from .rule_ids import CREDIT_ESTIMATE, OBLIGATION_RULES
from .schemas import payload_schema

# custom JSON Schema "format" → (name shown in the table, explanation, example)
FORMATS: dict[str, tuple[str, str, str]] = {
    "uscc": (
        "USCC",
        "统一社会信用代码: 18 characters from 0-9 and A-Y without I O Z S V, positions 3–8 digits, "
        "GB 32100 check digit. Upper case only: lower case is refused, not converted.",
        "`91310115MA1K4B8N68`",
    ),
    "gb2260-province": (
        "province",
        "Two-digit GB/T 2260 province code, as a string.",
        '`"11"` 北京, `"31"` 上海, `"44"` 广东',
    ),
    "licence-no": (
        "licence number",
        "Real form: optional provincial abbreviation, business classes joined by '.', '-', 8 digits. "
        "A provincial prefix must match the licence's province.",
        "`B2-20220315`, `粤B2-20230510`, `A2.B1.B2-20090001`",
    ),
    "telecom-category": (
        "category",
        "电信业务分类目录 code `[AB][12][0-9]?(-[12])?`. Call-centre business is B24 (B24-1 domestic, "
        "B24-2 offshore).",
        "`B24`, `B24-1`, `B25`",
    ),
    "cn-number": (
        "phone number",
        "Telephone or code number. Spaces, dashes, parentheses and a leading +86 / 0086 are removed on "
        "input and the event stores digits only (a fixed line given as +86 regains its trunk 0). "
        "number.allocated checks the digits against `kind`: 400 = 10 digits from 400; 95 / 96 = 5–8 "
        "digits from 95 / 96; fixed = 10–12 digits from 0; virtual = 11 digits from 1; other = 3–20 digits.",
        "`400-600-1234` → `4006001234`",
    ),
    "date": (
        "date",
        "A calendar date that exists, `YYYY-MM-DD`, Asia/Shanghai, years 1900–2100.",
        "`2026-03-31`",
    ),
    "quarter": ("quarter", "`YYYYQn`, years 2000–2100.", "`2026Q1`"),
    "month": ("month", "`YYYY-MM`, years 2000–2100.", "`2026-09`"),
    "money-cny": (
        "money",
        "Non-negative CNY (元), at most two decimals, below 10^13; a JSON number or a decimal string. "
        "Events store a JSON number.",
        '`1000000`, `"12345.60"`',
    ),
    "area-m2": ("area", "Square metres, above 0, at most two decimals.", "`420.5`"),
    "ref": ("reference", "An opaque reference chosen by the tenant, 1–128 characters.", "`SH-XUHUI-01`"),
    "person-ref": (
        "person reference",
        "An opaque reference for a person. Refused if it contains Chinese characters, an ID-card "
        "number, a phone number or an e-mail address: no personal data enters the ledger.",
        "`person-001`",
    ),
}


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if ref else prop


def describe_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short human description of a property's JSON Schema."""
    prop = _resolve(prop, defs)
    if "format" in prop and prop["format"] in FORMATS:
        return f"[{FORMATS[prop['format']][0]}](#formats)"
    if "enum" in prop and prop.get("format") != "gb2260-province":
        return " \\| ".join(f"`{value}`" for value in prop["enum"])
    if "anyOf" in prop:
        members = [m for m in prop["anyOf"] if m != {"type": "null"}]
        text = " or ".join(describe_type(m, defs) for m in members)
        return text + " or null" if len(members) < len(prop["anyOf"]) else text
    kind = prop.get("type")
    if kind == "array":
        return f"list of {describe_type(prop.get('items', {}), defs)}"
    if kind == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None and high is not None and high <= 10_000:
            return f"integer {low}–{high}"
        return "integer ≥ 0" if low == 0 else f"integer ≥ {low}" if low is not None else "integer"
    if kind == "boolean":
        return "boolean"
    if kind == "string":
        return f"text (≤ {prop['maxLength']})" if "maxLength" in prop else "text"
    return kind or "any"


def _rules_text(spec: FactSpec) -> str:
    if spec.rules == OBLIGATION_RULES:
        return "every obligation rule (a waiver can apply to any obligation)"
    if not spec.rules:
        return "none yet (kept for the record and the annual-report evidence)"
    return ", ".join(
        "`credit-estimate` (docs/rules.md, credit estimate)" if rule == CREDIT_ESTIMATE else f"`{rule}`" for rule in spec.rules
    )


def _fields_table(schema: dict[str, Any], past: tuple[str, ...] = ()) -> list[str]:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    properties = schema.get("properties", {})
    if not properties:
        return ["No fields."]
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, prop in properties.items():
        description = prop.get("description", "").replace("|", "\\|")
        if name in past:
            description += " (not after today)"
        lines.append(
            f"| `{name}` | {describe_type(prop, defs)} | {'yes' if name in required else 'no'} | {description} |"
        )
    return lines


def _section(spec: FactSpec) -> list[str]:
    schema = payload_schema(spec)
    doc = " ".join(inspect.cleandoc(spec.payload.__doc__ or "").split())
    return [
        f"#### `{spec.type}`",
        "",
        f"{spec.meaning_en} {spec.meaning_zh}",
        "",
        doc,
        "",
        f"- owner service: `{spec.owner.value}`",
        f"- aggregate: `{spec.aggregate_type}`, id: {spec.aggregate_key.describe()}",
        f"- payload schema: [`{spec.schema_file}`](../contracts/schemas/{spec.schema_file}) (version {spec.version})",
        f"- rules that use it: {_rules_text(spec)}",
        "",
        *_fields_table(schema, past_date_fields(spec.payload)),
        "",
    ]


# Not a fact: the signed head of LEDGER that the projector publishes (ledger_kernel.checkpoints).
CHECKPOINTS_SECTION = """\
## Checkpoints

Not a fact: a signed head of `LEDGER`, published by the projector on the stream `CHECKPOINTS`,
subject `checkpoints.ledger`, as canonical JSON (sorted keys, no white space, UTF-8). See
[operations: Checkpoints and audit](operations.md#checkpoints-and-audit).

| field | type | meaning |
|---|---|---|
| `type` | string | `ledger.checkpoint` |
| `version` | integer | `1` |
| `stream` | string | `LEDGER` |
| `sequence` | integer | the last `LEDGER` stream sequence covered |
| `aggregates` | integer | how many aggregates (subjects with at least one decodable event) the stream held at `sequence` |
| `digest` | hex string | SHA-256 over the line `subject NUL hash LF` of every aggregate, sorted by subject (UTF-8 byte order of Python strings); `subject` is the aggregate's NATS subject `ledger.<tenant>.<company>.<type>.<id>`, `hash` the `hash` attribute of its last decodable event at `sequence` (as stored, even if that event breaks the chain) |
| `previous` | integer | the `sequence` of the checkpoint before this one (0: none) |
| `heads` | object or null | subject → last hash of every aggregate whose last event lies after `previous`; `null` when more than 2,000 did (the digest still covers them) |
| `signed_at` | string | when it was signed, RFC 3339 UTC |
| `key_id` | string | first 16 hex digits of SHA-256 over the signing key's 32 raw Ed25519 public-key bytes |
| `signature` | string | base64 Ed25519 signature over the canonical JSON of every other field (the record without `signature`) |

`Nats-Msg-Id` is `<key_id>:<sequence>`, so a checkpoint re-sent after a lost acknowledgement is stored once.
"""


def render_events_page() -> str:
    """The whole page as Markdown."""
    lines = [
        "# Event catalogue",
        "",
        "<!-- Generated by `python -m ledger_contracts.generate` from contracts/src/ledger_contracts. "
        "Do not edit by hand. -->",
        "",
        "Every fact a user records becomes one event of the same type on the LEDGER stream "
        "(`ledger.{tenant}.{company}.{aggregate_type}.{aggregate_id}`). A fact is submitted as "
        "`{type, company, effective_date, data, idempotency_key}`; `data` is the payload below. "
        "`effective_date` is the Asia/Shanghai date it happened, defaults to today and may not be in the "
        "future; dates that record something already done (issued_on, filed_on, …) may not be either. "
        "Unknown fields are refused. Refusals list each problem with its field (a dotted path such as "
        "`data.expires_on`), a stable code and reasons in English and Chinese.",
        "",
        "## Fact types",
        "",
        "| type | owner | aggregate | meaning |",
        "|---|---|---|---|",
    ]
    for spec in CATALOGUE.values():
        anchor = spec.type.replace(".", "")
        lines.append(
            f"| [`{spec.type}`](#{anchor}) | {spec.owner.value} | {spec.aggregate_type} | {spec.meaning_en} |"
        )
    lines += ["", "## Formats", "", "| name | form | example |", "|---|---|---|"]
    for name, form, example in FORMATS.values():
        lines.append(f"| {name} | {form} | {example} |")
    lines += [
        "",
        "## Error codes",
        "",
        "A refused fact lists errors `{field, code, reason_en, reason_zh}`. The codes:",
        "",
    ]
    lines += ["| code | meaning |", "|---|---|"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in ERROR_CODES.items()]
    lines += ["", "## Payloads", ""]
    current_prefix = None
    for spec in CATALOGUE.values():
        if spec.aggregate_type != current_prefix:
            current_prefix = spec.aggregate_type
            lines += [f"### `{current_prefix}.*`", ""]
        lines += _section(spec)
    lines.append(CHECKPOINTS_SECTION)
    return "\n".join(lines).rstrip() + "\n"
