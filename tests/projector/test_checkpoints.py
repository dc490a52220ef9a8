"""Closed by default, the ledger's integrity: the projector parks an event whose hash or link does not
hold, signs checkpoints of LEDGER's head, and ``ledger verify`` holds the stream against them — a lost
tail, a re-chained forgery, a checkpoint signed by another key are breaks; an auditor needs only the
public key."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ledger_kernel import checkpoint_keys, envelope
from ledger_kernel.checkpoints import STREAM, SUBJECT, Checkpoint
from ledger_kernel.connection import connect
from ledger_kernel.settings import SettingsError
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import LEDGER, provision
from ledger_projector.checkpointer import interval_setting
from ledger_projector.digest import digest
from ledger_projector.rebuild import rebuild
from ledger_projector.tables import LIVE

from projector.conftest import projector_stack
from projector.ledger_facts import DirectRecorder, result
from projector.synthetic import uscc

CO = "91310115MA1K4B8N68"


@pytest.fixture
def provisioned(own_ledger):
    """This module's projectors follow a ledger of their own (see ``own_ledger``): verify walks all of it."""
    return own_ledger


def registered(name: str = "上海某客服外包有限公司") -> dict[str, Any]:
    return {"type": "company.registered", "company": CO, "effective_date": "2021-06-01",
            "data": {"name": name, "registered_capital": 12000000, "province": "31", "industry": "other",
                     "business_scope": ["呼叫中心业务"]}}


def renamed(new: str, company: str = CO) -> dict[str, Any]:
    return {"type": "company.registration_changed", "company": company, "effective_date": "2022-01-10",
            "data": {"field": "name", "old": "旧名", "new": new}}


def next_name_event(tenant: str, event_id: str, prevhash: str, new: str) -> dict[str, Any]:
    """The company aggregate's second event (a sealed name change), chained onto ``prevhash``."""
    return envelope.build_event(
        event_id=event_id, source="urn:ledger:licences", event_type="company.registration_changed", version=1,
        aggregate_id=CO, tenant=tenant, company=CO, sequence=2, effective_date=date(2022, 1, 10),
        data={"field": "name", "old": "上海某客服外包有限公司", "new": new}, prevhash=prevhash,
        recorded_at=datetime(2026, 11, 23, tzinfo=UTC))


def ledger_verify(url: str, home: Path, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEDGER_NATS_URL": url, "LEDGER_HOME": str(home)}
    env.pop("LEDGER_CHECKPOINT_KEY", None)
    if database_url:
        env["LEDGER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "ledger_cli.main", "verify", "--json", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def report_of(out: subprocess.CompletedProcess) -> dict[str, Any]:
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


async def fill_and_sign(server: Any, settings: Any, clock: Any, tenant: str, facts: list[dict[str, Any]]) -> int:
    """Record ``facts``, let a projector apply them and sign a checkpoint; the checkpoint's sequence."""
    nc = await connect(server.url, "test-fill")
    try:
        await provision(nc)
        recorder = DirectRecorder(LedgerStore(nc), clock)
        async with projector_stack(settings, clock) as svc:
            for fact in facts:
                await recorder.record(tenant, fact)
            await svc.catch_up(60)
            signed = await svc.checkpoint()
            assert signed is not None and signed.sequence == await LedgerStore(nc).last_sequence()
            return signed.sequence
    finally:
        await nc.close()


async def checkpoints_on(url: str) -> list[Checkpoint]:
    nc = await connect(url, "test-read-checkpoints")
    try:
        return [Checkpoint.model_validate_json(m.data) for m in await LedgerStore(nc, STREAM).read_all(SUBJECT)]
    finally:
        await nc.close()


# --- the projector parks a broken link -----------------------------------------------------------------


async def test_an_event_whose_hash_does_not_match_is_parked_not_applied(provisioned, nc, settings_for, clock, tenant):
    settings = settings_for(provisioned)
    store = LedgerStore(nc)
    recorder = DirectRecorder(store, clock)
    subject = f"ledger.{tenant}.{CO}.company.{CO}"
    async with projector_stack(settings, clock) as svc:
        await recorder.record(tenant, registered())
        original = (await store.read_all(subject))[0].event()
        # the next event of the aggregate, chained onto the first, then its payload altered: hash left stale
        honest = next_name_event(tenant, "e-tampered", original["hash"], "真名")
        tampered = {**honest, "data": {**honest["data"], "new": "篡改后的名字"}}
        ack = await store.js.publish(subject, envelope.encode(tampered))
        await svc.catch_up(60)

        status = await result(nc, "status")
        assert status["chain_breaks"] == 1 and status["parked"] == 1, status
        parked = status["parked_recent"][0]
        assert parked["ledger_sequence"] == ack.seq and parked["event_id"] == "e-tampered"
        assert parked["reason"].startswith("chain: hash:"), parked
        company = await result(nc, "company", tenant, company=CO)
        assert company["name"] == "上海某客服外包有限公司"  # the altered name never reached the read model
        with svc.engine.connect() as conn:
            ids = set(conn.execute(sa.select(LIVE.facts.c.event_id).where(LIVE.facts.c.tenant == tenant)).scalars())
        assert "e-tampered" not in ids and len(ids) == 1

    # a restarted projector checks the next event against the tip it stored, not against genesis:
    # the service chains onto the stored hash (one altered event is one park), and that is applied
    async with projector_stack(settings, clock) as svc:
        seq = await recorder.record(tenant, renamed("第三个名字"))
        assert await svc.wait_for(seq, 60)
        status = await result(nc, "status")
        assert status["parked"] == 1 and status["chain_breaks"] == 1
        assert (await result(nc, "company", tenant, company=CO))["name"] == "第三个名字"
        incremental = digest(svc.engine, LIVE)

    # a rebuild parks the same event and equals the incremental model
    clean = await rebuild(settings.model_copy(update={"database_url": f"sqlite:///{settings.home / 'clean.db'}"}))
    assert clean.parked == 1 and clean.digest == incremental
    out = ledger_verify(provisioned.url, settings.home)
    report = report_of(out)
    assert out.returncode == 1
    assert [(b["stream_seq"], b["kind"]) for b in report["breaks"]] == [(ack.seq, "hash")]
    assert report["parked"]["chain"] == 1 and report["parked"]["recent"][0]["ledger_sequence"] == ack.seq


async def test_an_event_that_does_not_chain_onto_its_predecessor_is_parked(provisioned, nc, settings_for, clock,
                                                                       tenant):
    store = LedgerStore(nc)
    async with projector_stack(settings_for(provisioned), clock) as svc:
        await DirectRecorder(store, clock).record(tenant, registered())
        forged = next_name_event(tenant, "e-forged", "f" * 64, "伪造")  # well sealed, pointing at no predecessor
        await store.js.publish(f"ledger.{tenant}.{CO}.company.{CO}", envelope.encode(forged))
        await svc.catch_up(60)
        status = await result(nc, "status")
        assert status["chain_breaks"] == 1 and status["parked_recent"][0]["event_id"] == "e-forged"
        assert "prevhash" in status["parked_recent"][0]["reason"]
        assert (await result(nc, "company", tenant, company=CO))["name"] == "上海某客服外包有限公司"


# --- checkpoints against a rewritten stream -------------------------------------------------------------


async def rewrite_ledger(url: str, replace_at: int | None, keep: int | None = None) -> str:
    """An administrator's rewrite: LEDGER deleted and re-made from its own messages, the message at
    ``replace_at`` swapped for a forgery re-chained onto its predecessor (so the chain verifies), and only
    the first ``keep`` messages kept. CHECKPOINTS is left alone. The forged aggregate's subject."""
    nc = await connect(url, "test-admin")
    try:
        store = LedgerStore(nc)
        msgs = await store.read_all("ledger.>")
        await nc.jetstream().delete_stream(LEDGER)
        await provision(nc)
        forged_subject = ""
        for m in msgs[:keep]:
            payload = m.data
            if m.stream_seq == replace_at:
                event = m.event()
                event = {**event, "data": {**event["data"], "new": "伪造的名字"}}
                event.pop("hash")
                event["hash"] = envelope.compute_hash(event)  # sealed again: only a key can tell
                payload, forged_subject = envelope.encode(event), m.subject
            await nc.jetstream().publish(m.subject, payload)
        return forged_subject
    finally:
        await nc.close()


async def test_a_re_chained_forgery_is_a_break_against_the_checkpoint(fresh_nats, settings_for, clock, tenant):
    settings = settings_for(fresh_nats)
    other = uscc(7)
    last = await fill_and_sign(fresh_nats, settings, clock, tenant,
                               [registered(), renamed("第二个名字"), renamed("其他", other), renamed("最后的名字")])
    before = report_of(ledger_verify(fresh_nats.url, settings.home))
    assert before["intact"] and before["checkpoints"]["latest_sequence"] == last
    assert before["checkpoints"]["signatures_checked"] and before["checkpoints"]["trusted"] >= 1

    subject = await rewrite_ledger(fresh_nats.url, replace_at=last)
    assert subject == f"ledger.{tenant}.{CO}.company.{CO}"
    out = ledger_verify(fresh_nats.url, settings.home)
    report = report_of(out)
    assert out.returncode == 1, out.stdout
    assert report["last_sequence"] == last  # nothing missing, nothing broken in the chain itself ...
    assert {b["kind"] for b in report["breaks"]} <= {"checkpoint_head", "checkpoint_digest"}
    head = next(b for b in report["breaks"] if b["kind"] == "checkpoint_head")
    assert head["subject"] == subject and head["stream_seq"] == last  # ... the checkpoint names the aggregate
    digest_break = next(b for b in report["breaks"] if b["kind"] == "checkpoint_digest")
    assert subject in digest_break["detail"]


async def test_a_lost_tail_is_a_break_with_the_expected_and_found_sequence(fresh_nats, settings_for, clock, tenant):
    """Restore an older copy of LEDGER's files under a newer CHECKPOINTS: the events after it are gone."""
    settings = settings_for(fresh_nats)
    nc = await connect(fresh_nats.url, "test")
    await provision(nc)
    recorder = DirectRecorder(LedgerStore(nc), clock)
    for fact in (registered(), renamed("第二个名字")):
        await recorder.record(tenant, fact)
    await nc.close()
    fresh_nats.stop()
    stream_dir = next(p for p in fresh_nats.store_dir.rglob("streams/LEDGER") if p.is_dir())
    shutil.copytree(stream_dir, settings.home.parent / "ledger-backup")
    fresh_nats.start()

    last = await fill_and_sign(fresh_nats, settings, clock, tenant,
                               [renamed(f"名字{i}") for i in range(5)] + [renamed("别家", uscc(8))])
    assert last == 8
    fresh_nats.stop()
    shutil.rmtree(stream_dir)
    shutil.copytree(settings.home.parent / "ledger-backup", stream_dir)
    fresh_nats.start()

    out = ledger_verify(fresh_nats.url, settings.home)
    report = report_of(out)
    assert out.returncode == 1
    assert report["last_sequence"] == 2
    truncated = [b for b in report["breaks"] if b["kind"] == "truncated"]
    assert len(truncated) == 1 and truncated[0]["stream_seq"] == 3
    assert "covers sequence 8, the stream ends at 2: 6 acknowledged event(s) are missing" in truncated[0]["detail"]


# --- an auditor's check with the public key alone, and key rotation ----------------------------------------


def public_pem_file(path: Path, key: Any) -> Path:
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


async def test_an_auditor_verifies_with_the_public_key_and_a_wrong_key_fails(fresh_nats, settings_for, clock,
                                                                             tenant, tmp_path):
    settings = settings_for(fresh_nats)
    last = await fill_and_sign(fresh_nats, settings, clock, tenant, [registered(), renamed("第二个名字")])
    auditor = tmp_path / "auditor"  # nothing of the stack's: no keyring, no read model
    auditor.mkdir()
    public = shutil.copy(settings.home / checkpoint_keys.PUBLIC, auditor / "ledger.pub")

    out = ledger_verify(fresh_nats.url, auditor, "--public-key", str(public))
    report = report_of(out)
    assert out.returncode == 0, out.stdout
    assert report["checkpoints"]["latest_sequence"] == last and report["checkpoints"]["signatures_checked"]
    assert report["parked"] is None  # the auditor has no read model

    wrong = public_pem_file(auditor / "wrong.pub", Ed25519PrivateKey.generate().public_key())
    out = ledger_verify(fresh_nats.url, auditor, "--public-key", str(wrong))
    report = report_of(out)
    assert out.returncode == 1
    kinds = [b["kind"] for b in report["breaks"]]
    assert "checkpoint_signature" in kinds and "no_checkpoint" in kinds
    assert "not among the trusted keys" in next(b["detail"] for b in report["breaks"]
                                                if b["kind"] == "checkpoint_signature")


async def test_a_checkpoint_with_a_bad_signature_fails(fresh_nats, settings_for, clock, tenant):
    settings = settings_for(fresh_nats)
    await fill_and_sign(fresh_nats, settings, clock, tenant, [registered()])
    signed = (await checkpoints_on(fresh_nats.url))[-1]
    nc = await connect(fresh_nats.url, "test-forger")
    try:  # a checkpoint claiming a later head, under the real key id, with the old signature
        forged = signed.model_copy(update={"sequence": signed.sequence + 5})
        await nc.jetstream().publish(SUBJECT, forged.encode())
    finally:
        await nc.close()
    public = settings.home / checkpoint_keys.PUBLIC
    out = ledger_verify(fresh_nats.url, settings.home, "--public-key", str(public))
    report = report_of(out)
    assert out.returncode == 1
    bad = [b for b in report["breaks"] if b["kind"] == "checkpoint_signature"]
    assert len(bad) == 1 and "does not match" in bad[0]["detail"]
    assert not [b for b in report["breaks"] if b["kind"] == "truncated"]  # an untrusted claim proves nothing


async def test_rotation_keeps_old_checkpoints_verifiable(fresh_nats, settings_for, clock, tenant, tmp_path):
    settings = settings_for(fresh_nats)
    await fill_and_sign(fresh_nats, settings, clock, tenant, [registered()])
    old_public = shutil.copy(settings.home / checkpoint_keys.PUBLIC, tmp_path / "old.pub")
    old_id, new_id = checkpoint_keys.rotate(settings.home)
    assert old_id and new_id != old_id
    assert stat_mode(settings.home / checkpoint_keys.PRIVATE) == 0o600
    assert stat_mode(settings.home / checkpoint_keys.PRIVATE.parent) == 0o700
    await fill_and_sign(fresh_nats, settings, clock, tenant, [renamed("第二个名字")])

    signers = [c.key_id for c in await checkpoints_on(fresh_nats.url)]
    assert signers[0] == old_id and signers[-1] == new_id
    keyring = settings.home / checkpoint_keys.KEYRING
    assert set(checkpoint_keys.read_public_keys(keyring)) == {old_id, new_id}

    out = ledger_verify(fresh_nats.url, tmp_path, "--public-key", str(keyring))
    report = report_of(out)
    assert out.returncode == 0, out.stdout
    assert report["checkpoints"]["trusted"] == len(signers) and report["checkpoints"]["latest_key_id"] == new_id
    # the stack's own verify trusts its keyring: old and new
    assert ledger_verify(fresh_nats.url, settings.home).returncode == 0
    # the old key alone does not vouch for the new checkpoints
    only_old = report_of(ledger_verify(fresh_nats.url, tmp_path, "--public-key", str(old_public)))
    assert not only_old["intact"]
    assert {b["kind"] for b in only_old["breaks"]} == {"checkpoint_signature"}


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_checkpoints_are_signed_when_events_arrive_and_at_a_clean_stop(fresh_nats, settings_for, clock, tenant,
                                                                             monkeypatch):
    """A short interval (typed setting) signs without being asked; stopping signs what is left."""
    monkeypatch.setenv("LEDGER_CHECKPOINT_INTERVAL", "1")
    settings = settings_for(fresh_nats)
    nc = await connect(fresh_nats.url, "test")
    await provision(nc)
    store = LedgerStore(nc)
    recorder = DirectRecorder(store, clock)
    try:
        async with projector_stack(settings, clock) as svc:
            assert svc.checkpoint_interval == 1.0
            first = await recorder.record(tenant, registered())
            for _ in range(600):  # up to 60 s on a loaded host; typically about 1 s
                if svc.checkpointer.previous >= first:
                    break
                await asyncio.sleep(0.1)
            assert svc.checkpointer.previous == first
            svc.checkpointer.interval = 3600.0  # from here only the clean stop signs
            last = await recorder.record(tenant, renamed("第二个名字"))
            await svc.catch_up(60)
        signed = await checkpoints_on(fresh_nats.url)
        assert [c.sequence for c in signed] == [first, last]
        assert signed[1].previous == first and set(signed[1].heads or {}) == {f"ledger.{tenant}.{CO}.company.{CO}"}
        assert b"PRIVATE" not in b"".join(c.encode() for c in signed)
    finally:
        await nc.close()


@pytest.mark.parametrize(("raw", "expected"), [(None, 60.0), ("", 60.0), (" 5 ", 5.0), ("3600", 3600.0)])
def test_the_checkpoint_interval_setting(raw, expected):
    assert interval_setting(raw) == expected


@pytest.mark.parametrize("raw", ["0", "0.5", "3601", "soon", "-1"])
def test_a_bad_checkpoint_interval_is_refused(raw):
    with pytest.raises(SettingsError, match="LEDGER_CHECKPOINT_INTERVAL"):
        interval_setting(raw)
