"""Turn pydantic's validation errors into the ledger's bilingual FieldErrors.

Errors raised by our own format checks already carry a stable code and both
reasons. Pydantic's built-in errors (a missing field, a wrong JSON type, a
value outside an enum) are mapped here to a small set of stable codes with a
Chinese reason, so clients never have to parse pydantic's English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from .errors import FieldError

# pydantic error type → (our code, English reason, Chinese reason); {placeholders} come from ctx
_TYPE_NAMES_ZH = {
    "string_type": "字符串",
    "int_type": "整数",
    "bool_type": "布尔值（true 或 false）",
    "list_type": "列表（数组）",
    "dict_type": "对象",
    "model_type": "对象",
    "model_attributes_type": "对象",
    "float_type": "数字",
    "decimal_type": "数字",
    "date_type": "日期",
}

_BUILTIN: dict[str, tuple[str, str | None, str]] = {
    "missing": ("missing", "this field is required", "缺少必填字段"),
    "extra_forbidden": (
        "extra_forbidden",
        "this field is not part of the fact type (check its spelling against docs/events.md)",
        "该字段不属于此事实类型（请对照事件目录 docs/events.md 检查拼写）",
    ),
    "enum": ("invalid_choice", "must be one of {expected}", "取值必须是以下之一：{expected}"),
    "literal_error": ("invalid_choice", "must be {expected}", "取值必须是 {expected}"),
    "too_short": ("too_short", "needs at least {min_length} item(s)", "至少需要 {min_length} 项"),
    "too_long": ("too_long", "allows at most {max_length} item(s)", "最多允许 {max_length} 项"),
    "string_too_short": ("too_short", None, "长度不足"),
    "string_too_long": ("too_long", None, "长度超出限制"),
    "bool_parsing": ("invalid_type", "must be true or false", "必须是 true 或 false"),
    "invalid_key": ("invalid_type", "keys must be strings", "键必须是字符串"),
}


def _format(template: str, context: Mapping[str, Any], *, chinese: bool = False) -> str:
    if chinese and isinstance(context.get("expected"), str):
        context = {**context, "expected": context["expected"].replace(" or ", "、").replace(", ", "、")}
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return template


def _path(loc: Iterable[str | int], prefix: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in (*prefix, *loc))


def convert(error: Mapping[str, Any], prefix: tuple[str | int, ...] = ()) -> FieldError:
    """One pydantic error dict as a FieldError; ``prefix`` is prepended to its location."""
    kind = str(error.get("type", "invalid_value"))
    context = error.get("ctx") or {}
    loc = tuple(error.get("loc", ()))
    if "reason_zh" in context:  # raised by our own checks
        if "field" in context:
            loc = (*loc, context["field"])
        return FieldError(
            field=_path(loc, prefix),
            code=kind,
            reason_en=str(context.get("reason_en", error.get("msg", ""))),
            reason_zh=str(context["reason_zh"]),
        )
    if kind in _TYPE_NAMES_ZH:
        return FieldError(
            field=_path(loc, prefix),
            code="invalid_type",
            reason_en=str(error.get("msg", "wrong type")),
            reason_zh=f"类型错误：应为{_TYPE_NAMES_ZH[kind]}",
        )
    code, reason_en, reason_zh = _BUILTIN.get(kind, ("invalid_value", None, "取值无效"))
    return FieldError(
        field=_path(loc, prefix),
        code=code,
        reason_en=_format(reason_en, context) if reason_en else str(error.get("msg", "invalid value")),
        reason_zh=_format(reason_zh, context, chinese=True),
    )


def field_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """All errors of a ValidationError, located from the fact root."""
    return [convert(error, prefix) for error in exc.errors(include_url=False)]
