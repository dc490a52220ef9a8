"""Bench stage ``batch_append``: a bulk import's facts through ``cmd.<service>`` batches, beside raw JetStream.

The facts go to each owning service in one batch request per 1000 facts (what ``POST /v1/facts:batch``
sends, without HTTP), the services side by side; the baseline publishes the same sealed events to the
RAW stream with as many publishes in flight as a service runs aggregates side by side.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

BATCH = 1000  # facts per cmd.<service> batch (docs/internal-protocol.md)
IN_FLIGHT = 256  # the domain endpoint's aggregates side by side (ledger_domain.endpoint.BATCH_LANES)


async def send_batches(nc: Any, tenant: str, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every fact in batches of its owning service, each service's batches in order: the item replies."""
    from ledger_bench import facts as F

    by_service: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        by_service.setdefault(F.owner(fact["type"]), []).append(fact)
    replies: list[dict[str, Any]] = []

    async def service(name: str, mine: list[dict[str, Any]]) -> None:
        for i in range(0, len(mine), BATCH):
            items = [{"fact": f, "command_id": str(uuid.uuid4())} for f in mine[i:i + BATCH]]
            body = json.dumps({"tenant": tenant, "items": items, "actor": "key:bench"}).encode()
            reply = json.loads((await nc.request(f"cmd.{name}", body, timeout=120)).data)
            replies.extend(reply["results"] if reply.get("ok") else [reply] * len(items))

    await asyncio.gather(*(service(name, mine) for name, mine in by_service.items()))
    return replies


async def stage_batch_append(st: Any) -> list[Any]:
    from ledger_bench import facts as F
    from ledger_bench import raw as bench_raw
    from ledger_bench.stages import Row, guarded, rate, sealed, start_domain

    sz = st.sizes
    rows = [Row(f"append via cmd.<service> batches of {BATCH}, the services side by side", None, "facts/s",
                f"raw JetStream publish, {IN_FLIGHT} in flight", None)]

    async def body() -> None:
        per = 20
        count = sz.bulk  # the bulk import's size: 10,000 in the full run
        facts = list(F.facts(-(-count // per), per, first=st.companies(-(-count // per))))[:count]
        js = st.env.nc.jetstream(timeout=60)
        seconds = await bench_raw.publish_concurrent(js, sealed("trawbatch", facts), IN_FLIGHT)
        rows[0].baseline_value = rate(len(facts), seconds)
        await start_domain(st)
        started = time.perf_counter()
        replies = await send_batches(st.env.nc, "tbatch" + uuid.uuid4().hex[:6], facts)
        rows[0].value = rate(len(facts), time.perf_counter() - started)
        refused = [r for r in replies if not r.get("ok")]
        if refused:
            rows[0].note = f"{len(refused)} refused, first: {refused[0].get('code')} {refused[0].get('detail')}"

    return await guarded(rows, body)
