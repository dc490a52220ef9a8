"""JSON Schema (draft 2020-12) of each fact type's payload, as published in contracts/schemas/.

The schema's ``$id`` is the CloudEvents ``dataschema`` of the events of that
type and version. It is derived from the pydantic model, so the model stays
the single definition; the ``x-ledger`` member adds what a consumer needs to
route and interpret the event without reading Python.
"""

from __future__ import annotations

import json
from typing import Any

from .catalogue import FactSpec

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def payload_schema(spec: FactSpec) -> dict[str, Any]:
    """The JSON Schema of ``spec``'s payload, with catalogue metadata."""
    schema = spec.payload.model_json_schema(mode="validation")
    description = schema.pop("description", "")
    return {
        "$schema": DRAFT_2020_12,
        "$id": spec.schema_id,
        "title": f"{spec.type} v{spec.version}",
        "description": f"{description}\n\n{spec.meaning_en}\n{spec.meaning_zh}".strip(),
        **schema,
        "x-ledger": {
            "type": spec.type,
            "version": spec.version,
            "owner": spec.owner.value,
            "aggregate_type": spec.aggregate_type,
            "aggregate_id": spec.aggregate_key.describe(),
            "rules": list(spec.rules),
        },
    }


def dumps(document: Any) -> str:
    """Stable text for a generated JSON file: indent 2, sorted keys, UTF-8, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
