"""The errors no healthy stack produces: services gone (503), a crash (500) — still problems, no internals."""

from __future__ import annotations

import httpx
from ledger_gateway.app import create_app
from ledger_gateway.context import GatewayState
from ledger_gateway.database import migrate
from ledger_gateway.problems import from_service
from ledger_gateway.service import GatewayService
from ledger_gateway.tenancy import create_tenant
from ledger_kernel.runtime import Mounted
from test_facts import REGISTERED, assert_problem


async def test_without_the_services_writes_and_reads_answer_503(fresh_nats, settings_for):
    settings = settings_for(fresh_nats)
    gateway = GatewayService()
    async with Mounted([gateway], settings, name="lonely-gateway"):
        _, issued = create_tenant(gateway.state.engine, "alone")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}",
                                     headers={"Authorization": f"Bearer {issued.key}"}) as client:
            single = await client.post("/v1/facts", json=REGISTERED)
            body = assert_problem(single, 503, "unavailable")
            assert "Idempotency-Key" in body["detail"] or "retry" in body["detail"]
            assert int(single.headers["Retry-After"]) > 0  # every 503 says when to come back
            batch = (await client.post("/v1/facts:batch", json=[REGISTERED])).json()
            assert batch["results"][0]["status"] == 503 and batch["refused"] == 1
            read = await client.get("/v1/companies")
            assert_problem(read, 503, "unavailable")
            assert int(read.headers["Retry-After"]) > 0
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and int(ready.headers["Retry-After"]) > 0
            assert ready.json()["status"] == "not_ready" and ready.json()["projection"]["ok"] is False
            assert ready.json()["nats"]["ok"] and ready.json()["database"]["ok"]
            assert (await client.get("/healthz")).status_code == 200


async def test_a_crash_is_a_500_problem_without_internals(tmp_path):
    engine = migrate(f"sqlite:///{tmp_path / 'gw.db'}")
    app = create_app(GatewayState(bus=None, engine=engine, settings=None))  # type: ignore[arg-type]

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/ledger_gateway/secret.py")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        r = await client.get("/boom")
    body = assert_problem(r, 500, "internal-error")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert body["instance"] == "/boom"


def test_an_unexpected_service_refusal_hides_its_detail():
    problem = from_service({"ok": False, "status": 421, "code": "wrong_service", "detail": "internal routing x"})
    assert problem.kind == "internal-error" and "routing" not in str(problem.body())
    known = from_service({"ok": False, "status": 412, "code": "sequence_mismatch", "detail": "d",
                          "expected": 1, "actual": 2})
    assert known.kind == "sequence-mismatch" and known.body()["expected"] == 1
