"""``ledger add TYPE --company USCC --date DATE key=value…``: one fact from the command line.

Values are typed by the fact type's contract as the importer types CSV cells (numbers,
true/false/是/否, days as 2026-11-05, 2026/11/5 or 2026年11月5日, ``;``-separated lists) or
given as JSON (``provinces='["44","31"]'``). The fact carries an idempotency key derived from
its content, so running the same command twice records it once.
"""

from __future__ import annotations

import json

import typer
from ledger_contracts.rows import RowError, argument_value, iso_day, row_key, template_header

from ledger_cli.client import ApiError, Gateway, KeyOption, UrlOption, fail


def parse_fields(fact_type: str, pairs: list[str]) -> dict[str, object]:
    """``key=value`` arguments as the fact's data (``data.key=value`` is read the same)."""
    data: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip().removeprefix("data.")
        if not sep or not name:
            raise RowError(f"{pair!r} is not key=value 参数须为 键=值 形式")
        data[name] = argument_value(fact_type, name, text)
    return data


def add_command(
    fact_type: str = typer.Argument(..., metavar="TYPE", help="The fact type, e.g. licence.issued "
                                                               "(`ledger import --template TYPE` lists its fields)."),
    fields: list[str] = typer.Argument(None, metavar="KEY=VALUE...", help="The payload's fields."),
    company: str = typer.Option(..., "--company", help="The company's USCC 统一社会信用代码."),
    day: str | None = typer.Option(None, "--date", help="The day it happened (Asia/Shanghai): 2026-11-05, "
                                                        "2026/11/5 or 2026年11月5日. Default: today."),
    url: str | None = UrlOption, key: str | None = KeyOption,
    as_json: bool = typer.Option(False, "--json", help="Print the recorded event as JSON."),
) -> None:
    """Record one fact through the gateway; a refusal is printed in English and Chinese. 记录一条事实。"""
    try:
        template_header(fact_type)  # an unknown type is refused here, naming the known ones
        fact: dict[str, object] = {"type": fact_type, "company": company.strip(),
                                   "data": parse_fields(fact_type, fields or [])}
        if day:
            fact["effective_date"] = iso_day(day.strip())
        idempotency_key = row_key(fact)
    except RowError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(2) from None
    try:
        with Gateway(url, key) as gateway:
            response = gateway.post("/v1/facts", content=json.dumps(fact, ensure_ascii=False).encode("utf-8"),
                                    headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key})
    except ApiError as exc:
        raise fail(exc) from None
    event = response.json()
    replayed = response.headers.get("idempotent-replayed") == "true"
    if as_json:
        typer.echo(json.dumps({**event, "replayed": replayed}, ensure_ascii=False))
        return
    state = "already recorded 已存在" if replayed else "recorded 已记录"
    typer.echo(f"{state}: {event['type']} {fact['company']} — event {event['event_id']}, "
               f"ledger_sequence {event['ledger_sequence']}")


def register(app: typer.Typer) -> None:
    app.command("add")(add_command)
