"""Tamper evidence: ``ledger verify`` finds forged and altered events, with where they start."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ledger_kernel import envelope
from ledger_kernel.aggregate import Aggregate, Command
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.repository import Repository
from ledger_kernel.store import LedgerStore
from ledger_kernel.streams import provision
from ledger_kernel.subjects import AggregateAddress

USCC = "91310115MA1K4B8N68"


class Licence(Aggregate):
    aggregate_type = "licence"


async def _fill(url: str, n: int = 3) -> str:
    nc = await connect(url, "fill")
    await provision(nc)
    repo = Repository(LedgerStore(nc), "urn:ledger:licences")
    address = AggregateAddress("t1", USCC, "licence", "B2-20220315")
    for i in range(n):
        await repo.execute(Command("t1", USCC, "licence.renewed", date(2022, 3, 15),
                                   {"new_expires_on": f"2030-01-0{i + 1}"}, f"c{i}"), address, Licence, 1)
    await nc.close()
    return address.subject


def ledger_verify(server: EmbeddedNats) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEDGER_NATS_URL": server.url, "LEDGER_HOME": str(server.home)}
    return subprocess.run([sys.executable, "-m", "ledger_cli.main", "verify", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_intact_ledger_verifies(fresh_nats):
    asyncio.run(_fill(fresh_nats.url))
    out = ledger_verify(fresh_nats)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["intact"] and report["events"] == 3 and report["aggregates"] == 1


def test_forged_event_breaks_the_chain(fresh_nats):
    subject = asyncio.run(_fill(fresh_nats.url))

    async def forge() -> int:
        nc = await connect(fresh_nats.url, "forger")
        # A well-sealed event whose prevhash does not point at its predecessor.
        forged = envelope.build_event(
            event_id="forged", source="urn:ledger:licences", event_type="licence.renewed", version=1,
            aggregate_id="B2-20220315", tenant="t1", company=USCC, sequence=4, effective_date=date(2022, 3, 15),
            data={"new_expires_on": "2099-01-01"}, prevhash="f" * 64, recorded_at=datetime.now(UTC))
        ack = await nc.jetstream().publish(subject, envelope.encode(forged))
        await nc.close()
        return ack.seq

    seq = asyncio.run(forge())
    out = ledger_verify(fresh_nats)
    assert out.returncode == 1
    breaks = json.loads(out.stdout)["breaks"]
    assert [(b["stream_seq"], b["kind"]) for b in breaks] == [(seq, "prevhash")]


def test_rewritten_payload_with_stale_hash_is_found(fresh_nats):
    subject = asyncio.run(_fill(fresh_nats.url, 1))

    async def rewrite() -> int:
        nc = await connect(fresh_nats.url, "forger")
        original = (await LedgerStore(nc).read_all(subject))[0].event()
        altered = {**original, "id": "x2", "sequence": 2, "prevhash": original["hash"],
                   "data": {"new_expires_on": "2099-01-01"}}  # hash left as the original's
        ack = await nc.jetstream().publish(subject, envelope.encode(altered))
        await nc.close()
        return ack.seq

    seq = asyncio.run(rewrite())
    report = json.loads(ledger_verify(fresh_nats).stdout)
    assert not report["intact"] and report["breaks"][0]["stream_seq"] == seq
    assert report["breaks"][0]["kind"] == "hash"


def test_altered_bytes_in_a_copy_of_the_store_are_found(tmp_path):
    """Edit one stored payload in a copy of the file store, start a server on the copy, verify."""
    original = EmbeddedNats(tmp_path / "a", free_port())
    original.start()
    asyncio.run(_fill(original.url))
    original.stop()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    blocks = list((tmp_path / "b" / "nats").rglob("LEDGER/msgs/*.blk"))
    assert blocks, "the file store layout changed: no LEDGER message blocks found"
    raw = blocks[0].read_bytes()
    at = raw.find(b"2030-01-02")
    assert at > 0
    blocks[0].write_bytes(raw[:at] + b"2031" + raw[at + 4:])
    copy = EmbeddedNats(tmp_path / "b", free_port())
    copy.start()
    try:
        out = ledger_verify(copy)
        assert out.returncode == 1
        breaks = json.loads(out.stdout)["breaks"]
        # Either the server's checksum drops the altered message (a gap at seq 2) or our hash catches it.
        assert breaks[0]["stream_seq"] == 2 and breaks[0]["kind"] in ("gap", "hash")
    finally:
        copy.stop()
    # The untouched original still verifies.
    again = EmbeddedNats(tmp_path / "a", free_port())
    again.start()
    try:
        assert ledger_verify(again).returncode == 0
    finally:
        again.stop()


def test_verify_reads_a_stopped_embedded_stack(tmp_path):
    """With no server running, verify starts the embedded one on the same store for its walk."""
    home = tmp_path / "home"
    port = free_port()
    server = EmbeddedNats(home, port)
    server.start()
    asyncio.run(_fill(server.url))
    server.stop()
    env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_NATS_PORT": str(port)}
    env.pop("LEDGER_NATS_URL", None)
    out = subprocess.run([sys.executable, "-m", "ledger_cli.main", "verify"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "intact" in out.stdout and "3 events" in out.stdout
    assert Path(home / "nats").exists()
