"""``ledger rebuild`` and ``ledger calendar load`` wired to the projector's functions, on the live stack."""

from __future__ import annotations

import json

from ledger_cli.demo import demo_batch


async def test_rebuild_reproduces_the_read_model(stack, ledger, tenant_key):
    _, key = tenant_key
    async with stack.client(key) as client:
        results = (await client.post("/v1/facts:batch", json=demo_batch()[:6])).json()["results"]
        last = max(r["event"]["ledger_sequence"] for r in results)
        assert (await client.get("/v1/changes", params={"min_sequence": last})).status_code == 200
    result = await ledger("rebuild", "--check", "--json", LEDGER_NATS_URL=stack.nats_url)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["events"] >= 6 and report["applied_sequence"] >= last and report["digest_matches"] is True


async def test_calendar_load_records_a_year_once_and_refuses_a_bad_file(stack, ledger, tmp_path):
    good = tmp_path / "2031.json"
    good.write_text(json.dumps({"year": 2031, "holidays": ["2031-01-01", "2031-10-01", "2031-10-02"],
                                "workdays": ["2031-09-28"], "source": "test schedule"}))
    first = await ledger("calendar", "load", str(good), LEDGER_NATS_URL=stack.nats_url)
    assert first.exit_code == 0, first.output
    assert "2031: 3 holidays, 1 make-up workdays — recorded" in first.stdout
    again = await ledger("calendar", "load", str(good), LEDGER_NATS_URL=stack.nats_url)
    assert "already loaded" in again.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"year": "soon", "holidays": "none"}))
    refused = await ledger("calendar", "load", str(bad), LEDGER_NATS_URL=stack.nats_url)
    assert refused.exit_code == 2 and "refused" in refused.stderr


async def test_rules_set_records_a_tenants_backlog_threshold_once_and_refuses_a_bad_one(stack, ledger, tmp_path,
                                                                                        tenant_key):
    tenant, _ = tenant_key
    good = tmp_path / "rules.json"
    good.write_text(json.dumps({"alerts": {"backlog_threshold": 5}}))
    first = await ledger("rules", "set", tenant, str(good), LEDGER_NATS_URL=stack.nats_url)
    assert first.exit_code == 0, first.output
    assert f"{tenant}: rule overrides recorded" in first.stdout
    again = await ledger("rules", "set", tenant, str(good), LEDGER_NATS_URL=stack.nats_url)
    assert again.exit_code == 0 and "unchanged" in again.stdout
    for content in (json.dumps({"alerts": {"backlog_threshold": -1}}), json.dumps({"alerts": {"digest": 3}}), "{"):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        refused = await ledger("rules", "set", tenant, str(bad), LEDGER_NATS_URL=stack.nats_url)
        assert refused.exit_code == 2 and "refused" in refused.stderr, content
