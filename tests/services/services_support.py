"""Helpers for the domain-service tests: send a fact over NATS, read the ledger back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger_contracts.catalogue import CATALOGUE
from ledger_kernel.services import ServiceKind, named, of_kind
from ledger_kernel.settings import Settings
from ledger_kernel.store import LedgerStore
from nats.aio.client import Client

SERVICES = tuple(spec.name for spec in of_kind(ServiceKind.domain))  # the installed domain services


def build(name: str):
    return named(name).build()


def owner(fact_type: str) -> str:
    return CATALOGUE[fact_type].owner.value


def request(tenant: str, fact: dict[str, Any], command_id: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {"tenant": tenant, "fact": fact, "command_id": command_id, **extra}
    return json.dumps(body, ensure_ascii=False).encode()


async def send(nc: Client, tenant: str, fact: dict[str, Any], command_id: str | None = None,
               service: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """One fact to its owning service over NATS request/reply; the decoded reply."""
    fact = dict(fact)
    fact.pop("idempotency_key", None)
    subject = f"cmd.{service or owner(fact['type'])}"
    msg = await nc.request(subject, request(tenant, fact, command_id, **extra), timeout=20, headers=headers)
    return json.loads(msg.data)


async def tenant_events(nc: Client, tenant: str) -> list[dict[str, Any]]:
    """Every event of ``tenant`` on LEDGER, in stream order."""
    return [m.event() for m in await LedgerStore(nc).read_all(f"ledger.{tenant}.>")]


def assert_problem(reply: dict[str, Any], status: int, code: str) -> None:
    """A structured refusal: status, code, bilingual title, and well-formed errors."""
    assert reply["ok"] is False, reply
    assert (reply["status"], reply["code"]) == (status, code), reply
    assert reply["title"] and reply["title_zh"] and isinstance(reply["detail"], str)
    assert isinstance(reply["errors"], list)
    for error in reply["errors"]:
        assert set(error) >= {"field", "code", "reason_en", "reason_zh"}, error
        assert isinstance(error["field"], str) and error["code"] and error["reason_en"] and error["reason_zh"]


STACK_INSTANT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def stack_settings(server, home: Path) -> Settings:
    """Settings for a services stack on ``server`` with its data under ``home``."""
    return Settings.from_env({"LEDGER_HOME": str(home), "LEDGER_NATS_URL": server.url, "LEDGER_ENV": "test"})
