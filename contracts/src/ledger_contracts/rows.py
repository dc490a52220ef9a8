"""Rows of a back-office file (CSV or NDJSON) → facts, each with a stable idempotency key.

CSV layout (docs/http-api.md): ``type``, ``company``, ``effective_date``, optional
``idempotency_key``, then the payload as ``data.<field>`` columns (lists ``;``-separated,
booleans true/false/是/否, days 2026-11-05, 2026/11/5 or 2026年11月5日) and/or a ``data``
column holding a JSON object. Cells are typed by the fact type's JSON Schema from
ledger_contracts, so a spreadsheet needs no quoting rules. Columns the importer does not
know (``line``, ``error``, notes …) are ignored, so a file of refused rows — each with the
line of the source file it came from — can be fixed and fed back as it is.

A row without an explicit key gets one derived from its content: re-running an
import within the gateway's Idempotency-Key window (24 h by default, LEDGER_IDEMPOTENCY_TTL_HOURS) records nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from . import strict_json
from .catalogue import CATALOGUE

ENVELOPE = ("type", "company", "effective_date", "idempotency_key")
REFUSAL_COLUMNS = ("line", "error")  # added to a refused-rows file: the row's line in the source file, and why
TRUE = {"true", "1", "yes", "y", "是", "对", "t"}
FALSE = {"false", "0", "no", "n", "否", "错", "f"}
# 2026-11-05, 2026/11/5, 2026.11.5 and 2026年11月5日: the ways a back office's spreadsheet writes a day
DAY = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


class RowError(ValueError):
    """A row that cannot become a fact here (the gateway never sees it)."""


@dataclass
class Row:
    number: int  # the line of the file the row starts on (1 = the first line; a CSV header is line 1)
    original: dict[str | None, Any]  # the row as read, for the refused-rows file
    fact: dict[str, Any] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def row_key(fact: dict[str, Any]) -> str:
    """A key derived from what the row says: the same row always gets the same key."""
    body = {k: v for k, v in fact.items() if k != "idempotency_key"}
    try:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return "row-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]
    except (TypeError, ValueError) as exc:  # NaN, Infinity: not JSON
        raise RowError(f"the row holds a value that is not JSON: {exc}") from None


def baseline_fact(company: str, tracked_from: str, attested_by: str, note: str | None = None) -> dict[str, Any]:
    """A company's onboarding baseline (company.tracking_started), dated on its tracked_from day."""
    data: dict[str, Any] = {"tracked_from": tracked_from, "attested_by": attested_by}
    if note:
        data["note"] = note
    return {"type": "company.tracking_started", "company": company, "effective_date": tracked_from, "data": data}


def _loads(text: str) -> Any:
    return strict_json.loads(text)  # a key written twice is ambiguous: the row is refused, never guessed


@cache
def _payload_schema(fact_type: str) -> dict[str, Any]:
    return CATALOGUE[fact_type].payload.model_json_schema()


def _types_of(schema: dict[str, Any], root: dict[str, Any]) -> tuple[set[str], dict[str, Any] | None]:
    """The JSON types a property accepts, and its array items' schema."""
    if "$ref" in schema:
        schema = root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    types: set[str] = set()
    items = schema.get("items")
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        t, i = _types_of(branch, root)
        types |= t
        items = items or i
    kind = schema.get("type")
    if isinstance(kind, list):
        types |= set(kind)
    elif kind:
        types.add(kind)
    if not types and "enum" in schema:
        types.add("string")
    return types, items


def iso_day(text: str) -> str:
    """A day written 2026-11-05, 2026/11/5 or 2026年11月5日 as ISO 8601 (2026-11-05); other text unchanged
    (an impossible day such as 2026/2/30 too, for the contract to refuse in its own words)."""
    match = DAY.match(text)
    if match is None:
        return text
    try:
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return text


def _scalar(text: str, types: set[str], where: str, fmt: str | None = None) -> Any:
    low = text.strip().lower()
    if "boolean" in types and not types & {"string", "integer", "number"}:
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise RowError(f"{where}: {text!r} is not true/false (是/否)")
    if "integer" in types and "string" not in types:
        try:
            return int(text.strip().replace(",", ""))
        except ValueError:
            return text  # let the contract refuse it with its own words
    if "number" in types:  # money may be a number or a decimal string: drop thousands separators
        cleaned = text.strip().replace(",", "").replace("，", "")
        try:
            return int(cleaned)
        except ValueError:
            return cleaned
    if fmt == "date":
        return iso_day(text)
    return text


def _format_of(schema: dict[str, Any], root: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        schema = root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
    if schema.get("format"):
        return schema["format"]
    return next((f for b in schema.get("anyOf", []) + schema.get("oneOf", []) if (f := _format_of(b, root))), None)


def cell_value(fact_type: str, name: str, text: str) -> Any:
    """A CSV cell as the JSON value the payload field expects."""
    root = _payload_schema(fact_type)
    prop = root.get("properties", {}).get(name)
    if prop is None:
        return text  # unknown field: the contract will name it
    types, items = _types_of(prop, root)
    if "array" in types:
        item_types = _types_of(items, root)[0] if items else {"string"}
        fmt = _format_of(items, root) if items else None
        return [_scalar(part.strip(), item_types, f"data.{name}", fmt) for part in text.split(";") if part.strip()]
    return _scalar(text, types, f"data.{name}", _format_of(prop, root))


def argument_value(fact_type: str, name: str, text: str) -> Any:
    """A ``key=value`` of ``ledger add`` as JSON: a JSON list or object as written, else typed like a CSV
    cell (numbers, true/false/是/否, the three ways to write a day); a field the contract does not name is
    read as a JSON number, boolean or null if it is one, else kept as text (the contract then names it)."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return _loads(stripped)
        except ValueError as exc:
            raise RowError(f"data.{name}: not a JSON list or object ({exc}) 不是有效的 JSON 列表或对象") from None
    if name in _payload_schema(fact_type).get("properties", {}):
        return cell_value(fact_type, name, text)
    try:
        value = _loads(stripped)
    except ValueError:
        return text
    return value if value is None or isinstance(value, bool | int | float) else text


def template_header(fact_type: str) -> list[str]:
    """The CSV columns for one fact type: the envelope, then a ``data.<field>`` per payload field."""
    if fact_type not in CATALOGUE:
        raise RowError(f"unknown fact type {fact_type!r} 未知的事实类型 (known 可用: {', '.join(sorted(CATALOGUE))})")
    return [*ENVELOPE, *(f"data.{name}" for name in _payload_schema(fact_type).get("properties", {}))]


def csv_fact(record: Mapping[str | None, Any]) -> dict[str, Any]:
    clean = {(k or "").strip(): (v or "") for k, v in record.items() if k is not None}
    fact_type = clean.get("type", "").strip()
    if not fact_type:
        raise RowError("the type column is empty 类型为空")
    if fact_type not in CATALOGUE:
        raise RowError(f"unknown fact type {fact_type!r} 未知的事实类型")
    fact: dict[str, Any] = {"type": fact_type, "company": clean.get("company", "").strip()}
    if clean.get("effective_date", "").strip():
        fact["effective_date"] = iso_day(clean["effective_date"].strip())
    data: dict[str, Any] = {}
    if clean.get("data", "").strip():
        try:
            data = _loads(clean["data"])
        except ValueError as exc:
            raise RowError(f"the data column is not a JSON object: {exc}") from None
        if not isinstance(data, dict):
            raise RowError("the data column must hold a JSON object data 列必须是 JSON 对象")
    for column, text in clean.items():
        if column.startswith("data.") and text.strip() != "":
            data[column[5:]] = cell_value(fact_type, column[5:], text)
    fact["data"] = data
    key = clean.get("idempotency_key", "").strip()
    fact["idempotency_key"] = key or row_key(fact)
    return fact


def ndjson_fact(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise RowError("a line must be a JSON object 每行必须是 JSON 对象")
    fact = {k: v for k, v in obj.items() if not k.startswith("_")}  # "_error" etc. are the importer's own
    if not fact.get("idempotency_key"):
        fact["idempotency_key"] = row_key(fact)
    return fact


def decode(raw: bytes) -> str:
    """A file's text: UTF-8 (with or without a BOM), else GB 18030 as Chinese Excel saves it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")  # spreadsheets saved by Chinese Excel


def file_format(path: Path) -> str:
    return "ndjson" if path.suffix.lower() in (".ndjson", ".jsonl", ".json") else "csv"


def read_rows(path: Path, fmt: str | None = None) -> tuple[str, list[str], list[Row]]:
    """(format, CSV header or [], rows) of a file — every row either with a fact or with a local error."""
    return parse_rows(decode(path.read_bytes()), fmt or file_format(path), path.name)


def parse_rows(text: str, fmt: str, name: str = "the file") -> tuple[str, list[str], list[Row]]:
    """(format, CSV header or [], rows) of a file's text (``fmt`` csv or ndjson)."""
    rows: list[Row] = []
    if fmt == "ndjson" and text.lstrip().startswith("["):  # a JSON array file: one "line" per element
        try:
            text = "\n".join(json.dumps(item, ensure_ascii=False) for item in _loads(text))
        except ValueError as exc:
            raise RowError(f"{name} is not a JSON array: {exc}") from None
    if fmt == "ndjson":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = _loads(line)
            except ValueError as exc:
                rows.append(Row(number, {"_line": line}, error=f"not JSON: {exc}"))
                continue
            row = Row(number, obj if isinstance(obj, dict) else {"_line": line})
            try:
                row.fact = ndjson_fact(obj)
            except RowError as exc:
                row.error = str(exc)
            rows.append(row)
        return fmt, [], rows
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if "type" not in header or "company" not in header:
        raise RowError("a CSV file needs at least the columns type and company (and effective_date, data.<field>)")
    while True:
        start = reader.line_num + 1  # where this record starts (a quoted cell may span lines)
        try:
            values = next(reader)
        except StopIteration:
            break
        if not values:
            continue  # a blank line
        record: dict[str | None, Any] = {name: values[i] if i < len(values) else None for i, name in enumerate(header)}
        if len(values) > len(header):
            record[None] = values[len(header):]  # as csv.DictReader keeps them: ignored
        row = Row(start, dict(record))
        try:
            row.fact = csv_fact(record)
        except RowError as exc:
            row.error = str(exc)
        rows.append(row)
    return fmt, header, rows


def chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def refused_text(fmt: str, header: list[str], refused: list[Row]) -> str:
    """The refused rows as they were, with the line of the source file each came from and the reason: fix
    them and import this file again (the importer ignores both columns). CSV starts with a BOM for Excel."""
    out = io.StringIO()
    if fmt == "ndjson":
        for row in refused:
            out.write(json.dumps({**row.original, "_source_line": row.number, "_error": row.error},
                                 ensure_ascii=False) + "\n")
        return out.getvalue()
    columns = [h for h in header if h not in REFUSAL_COLUMNS] + list(REFUSAL_COLUMNS)
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in refused:
        writer.writerow({**{k.strip(): v for k, v in row.original.items() if k}, "line": row.number,
                         "error": row.error})
    return ("\ufeff" if fmt == "csv" else "") + out.getvalue()


def write_refused(path: Path, fmt: str, header: list[str], refused: list[Row]) -> None:
    path.write_text(refused_text(fmt, header, refused), encoding="utf-8", newline="")
