"""Recording facts for projector tests: straight onto LEDGER with the kernel's Repository
(unit tests), or through the domain services over ``cmd.<service>`` (end to end)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from ledger_contracts.catalogue import get_spec
from ledger_kernel.aggregate import Aggregate, Command
from ledger_kernel.repository import Repository
from ledger_kernel.store import LedgerStore
from ledger_kernel.subjects import AggregateAddress

_CLASSES: dict[str, type[Aggregate]] = {}


def aggregate_class(aggregate_type: str) -> type[Aggregate]:
    cls = _CLASSES.get(aggregate_type)
    if cls is None:
        cls = type(f"{aggregate_type.title()}Aggregate", (Aggregate,), {"aggregate_type": aggregate_type})
        _CLASSES[aggregate_type] = cls
    return cls


class DirectRecorder:
    """Appends facts as the owning service would (same envelope, subject, hash chain), no invariants."""

    def __init__(self, store: LedgerStore, clock: Any) -> None:
        self.repo = Repository(store, "urn:ledger:test", clock=clock)

    async def record(self, tenant: str, fact: dict[str, Any], command_id: str | None = None) -> int:
        spec = get_spec(fact["type"])
        agg_id = spec.aggregate_id(fact["company"], fact["data"])
        address = AggregateAddress(tenant, fact["company"], spec.aggregate_type, agg_id)
        command = Command(tenant=tenant, company=fact["company"], type=fact["type"],
                          effective_date=date.fromisoformat(fact["effective_date"]), data=fact["data"],
                          command_id=command_id or str(uuid.uuid4()))
        recorded = await self.repo.execute(command, address, aggregate_class(spec.aggregate_type), spec.version)
        return recorded.ledger_sequence


class CommandRecorder:
    """Records facts through the domain services (``cmd.<owner>``), as the gateway does."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc

    async def record(self, tenant: str, fact: dict[str, Any], command_id: str | None = None) -> int:
        owner = str(get_spec(fact["type"]).owner)
        request = {"tenant": tenant, "fact": fact, "command_id": command_id or str(uuid.uuid4()),
                   "expected_sequence": None, "actor": "test", "correlation_id": None, "causation_id": None}
        reply = await self.nc.request(f"cmd.{owner}", json.dumps(request).encode(), timeout=10)
        answer = json.loads(reply.data)
        assert answer.get("ok"), f"{fact['type']} refused: {answer}"
        return answer["ledger_sequence"]


async def query(nc: Any, op: str, tenant: str | None = None, **kw: Any) -> dict[str, Any]:
    body = {"op": op, "tenant": tenant, **kw}
    reply = await nc.request("query.projector", json.dumps(body).encode(), timeout=10)
    return json.loads(reply.data)


async def result(nc: Any, op: str, tenant: str | None = None, **kw: Any) -> Any:
    answer = await query(nc, op, tenant, **kw)
    assert answer["ok"], answer
    return answer["result"]
