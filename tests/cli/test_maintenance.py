"""``ledger rebuild`` and ``ledger calendar load`` wired to the projector's functions, on the live stack."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa
from ledger_cli.demo import demo_batch


async def _projected_demo(stack, key: str, count: int) -> int:
    """The first ``count`` demo facts recorded and projected; the last ledger sequence."""
    async with stack.client(key) as client:
        results = (await client.post("/v1/facts:batch", json=demo_batch()[:count])).json()["results"]
        last = max(r["event"]["ledger_sequence"] for r in results)
        assert (await client.get("/v1/changes", params={"min_sequence": last})).status_code == 200
    return last


async def test_rebuild_reproduces_the_read_model(stack, ledger, tenant_key):
    last = await _projected_demo(stack, tenant_key[1], 6)
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


def _generation(stack) -> tuple[int, int]:
    """The live read model's (applied sequence, generation): a swap bumps the generation."""
    engine = sa.create_engine(stack.settings.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT applied_sequence, generation FROM projector_checkpoint "
                                       "WHERE name = 'main'")).one()
        return row[0], row[1]
    finally:
        engine.dispose()


async def test_rebuild_with_two_workers_prints_a_summary_and_no_bar_off_a_terminal(stack, ledger, tenant_key):
    last = await _projected_demo(stack, tenant_key[1], 8)
    _, generation = _generation(stack)
    result = await ledger("rebuild", "--workers", "2", "--check", LEDGER_NATS_URL=stack.nats_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    summary = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(summary) == 2, summary  # the summary and the digest's verdict: no bar, not a terminal
    assert summary[0].startswith("rebuilt 已重建: ") and ", 2 worker(s), " in summary[0]
    assert summary[1] == "digest unchanged 摘要一致"
    assert _generation(stack)[1] == generation + 1

    as_json = await ledger("rebuild", "--workers", "2", "--json", LEDGER_NATS_URL=stack.nats_url)
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)  # nothing but the report on standard output
    assert report["workers"] == 2 and report["applied_sequence"] >= last and report["events"] >= 8


async def test_rebuild_refuses_a_worker_count_out_of_range_and_changes_nothing(stack, ledger):
    before = _generation(stack)
    for workers in ("0", "-1", "1000"):
        result = await ledger("rebuild", "--workers", workers, LEDGER_NATS_URL=stack.nats_url)
        assert result.exit_code == 2, (workers, result.output)
        assert "refused 拒绝: --workers must be a whole number from 1 to 64" in result.stderr, result.stderr
        assert f"not {workers}" in result.stderr
    assert _generation(stack) == before


def test_the_rebuild_bar_shows_each_phase_with_rate_and_time_left():
    from ledger_cli.rebuild_bar import RebuildBar
    from ledger_projector.admin import EVALUATING, REPLAYING, SWAPPING, RebuildProgress
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with RebuildBar(console, show=True) as bar:
        for done in (0, 400, 1000):
            bar(RebuildProgress(REPLAYING, done, 1000))
        bar(RebuildProgress(EVALUATING, 0, 900))
        bar(RebuildProgress(EVALUATING, 900, 900))
        bar(RebuildProgress(SWAPPING, 1, 1))
    drawn = out.getvalue()
    for text in ("replaying 重放", "1000/1000", "evaluating 评估", "900/900", "swapping 切换", "events/s"):
        assert text in drawn, (text, drawn)

    quiet = io.StringIO()
    with RebuildBar(Console(file=quiet, force_terminal=True), show=False) as bar:
        bar(RebuildProgress(REPLAYING, 5, 10))
    assert quiet.getvalue() == ""
