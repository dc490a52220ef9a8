"""The OpenAPI document: facts as a discriminated union, every error as application/problem+json.

Request bodies are read raw (so refusals keep the services' bilingual field errors),
and documented here from the contracts' own models.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from ledger_kernel.settings import DEFAULT_IDEMPOTENCY_TTL

from ledger_gateway.problems import KINDS, MEDIA_TYPE, Problem

FACT_REF = {"$ref": "#/components/schemas/Fact"}
BATCH_ITEM_REF = {"$ref": "#/components/schemas/BatchItem"}
RETRY_AFTER_HEADER = {"Retry-After": {"description": "Seconds to wait before retrying (every 503 has it).",
                                      "schema": {"type": "integer", "minimum": 1}}}

_DESCRIPTIONS = {
    400: "Malformed request (not JSON, wrong shape). 请求格式错误",
    401: "Missing, unknown or revoked API key. 密钥无效",
    403: "The key lacks the scope. 权限不足",
    404: "No such resource for this tenant (another tenant's company answers 404 too). 未找到",
    409: "The fact breaks an invariant of its aggregate. 违反聚合约束",
    412: "If-Match no longer holds: the aggregate has moved on. 聚合已变更",
    413: "The body is over its limit (`limit_bytes`; 1 MiB, 16 MiB for a batch) or a batch holds too many facts. "
         "请求过大",
    415: "Unsupported Content-Type. 内容类型不支持",
    422: "Invalid fact or parameters (`errors` names the fields), or an Idempotency-Key reused for another body.",
    500: "Internal error (logged; no internals in the answer). 内部错误",
    503: "A service or the ledger is unavailable (see `Retry-After`); nothing was recorded, and a command the "
         "gateway gave up on is never recorded later: retrying with the same Idempotency-Key is safe. 暂不可用，未记录",
}


def idempotency_policy(ttl: timedelta) -> str:
    """The published expiry policy of Idempotency-Key (the IETF draft asks a resource to publish one)."""
    hours = f"{ttl / timedelta(hours=1):g}"
    return (f"Same key + same body → the same answer (`Idempotent-Replayed: true`), never a second event; "
            f"same key + another body → 422 `idempotency-key-reused`. A key is remembered for {hours} hours "
            f"from its first use; after that it is forgotten, and a request with it is a new request "
            f"(a different body is accepted, the same fact may be recorded again). "
            f"相同幂等键与相同请求体返回相同结果，不会产生第二个事件；相同幂等键与不同请求体返回 422。"
            f"幂等键自首次使用起保留 {hours} 小时，过期后即被遗忘，使用该键的请求视为新请求。")


def _publish_idempotency_policy(schema: dict[str, Any], ttl: timedelta) -> None:
    """Write the deployment's retention window into the Idempotency-Key of the facts endpoints."""
    policy = idempotency_policy(ttl)
    for parameter in schema.get("paths", {}).get("/v1/facts", {}).get("post", {}).get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
            parameter["description"] = policy
    item = schema.get("components", {}).get("schemas", {}).get("BatchItem")
    if item is not None:
        item["description"] = (f"{item['description']} `idempotency_key` (1-255 visible ASCII characters, `[!-~]`) "
                               f"works as the Idempotency-Key header does. {policy}")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (plus 500, which any call may meet)."""
    kinds_by_status: dict[int, list[str]] = {}
    for name, kind in KINDS.items():
        kinds_by_status.setdefault(kind.status, []).append(name)
    out: dict[int | str, dict[str, Any]] = {}
    for status in (*statuses, 500):
        kinds = ", ".join(f"`{k}`" for k in kinds_by_status.get(status, []))
        out[status] = {"description": f"{_DESCRIPTIONS.get(status, 'Error')} Problem types: {kinds}.",
                       "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        if status == 503:
            out[status]["headers"] = RETRY_AFTER_HEADER
    return out


def _fact_schemas() -> dict[str, Any]:
    """Component schemas for the fact union, from ``ledger_contracts`` (AnyFact when it exists)."""
    from pydantic import TypeAdapter

    ref = "#/components/schemas/{model}"
    try:
        from ledger_contracts import AnyFact
    except ImportError:
        AnyFact = None  # noqa: N806
    if AnyFact is not None:
        schema = TypeAdapter(AnyFact).json_schema(ref_template=ref, mode="validation")
        components = schema.pop("$defs", {})
        components["Fact"] = schema
    else:
        from ledger_contracts.catalogue import CATALOGUE
        from pydantic.json_schema import models_json_schema

        specs = list(CATALOGUE.values())
        models = list(dict.fromkeys(s.payload for s in specs))
        mapping, defs = models_json_schema([(m, "validation") for m in models], ref_template=ref)
        components = dict(defs.get("$defs", {}))
        variants, disc = [], {}
        for spec in specs:
            name = "Fact_" + spec.type.replace(".", "_")
            components[name] = {
                "type": "object", "title": spec.type, "description": f"{spec.meaning_en} {spec.meaning_zh}",
                "required": ["type", "company", "data"], "additionalProperties": False,
                "properties": {
                    "type": {"type": "string", "const": spec.type, "enum": [spec.type]},
                    "company": {"type": "string", "description": "统一社会信用代码 (USCC, GB 32100)",
                                "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"},
                    "effective_date": {"type": "string", "format": "date",
                                       "description": "When it happened (Asia/Shanghai); default today."},
                    "data": mapping[(spec.payload, "validation")],
                }}
            variants.append({"$ref": ref.format(model=name)})
            disc[spec.type] = ref.format(model=name)
        components["Fact"] = {"oneOf": variants, "discriminator": {"propertyName": "type", "mapping": disc},
                              "description": "A fact, discriminated by `type` (see the catalogue)."}
    components["BatchItem"] = {
        "description": "A fact; its own `idempotency_key` makes a re-run duplicate nothing.",
        "allOf": [FACT_REF],
    }
    return components


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes, tags=app.openapi_tags)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(_fact_schemas())
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        state = getattr(app.state, "gateway", None)
        _publish_idempotency_policy(schema, getattr(state, "idempotency_ttl", DEFAULT_IDEMPOTENCY_TTL))
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status.isdigit() and int(status) >= 400 and "application/json" in content:
                        response["content"] = {MEDIA_TYPE: content.pop("application/json")}
                    for body in response.get("content", {}).values():  # FastAPI's default 422: ours is a Problem
                        if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                            body["schema"] = {"$ref": "#/components/schemas/Problem"}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
