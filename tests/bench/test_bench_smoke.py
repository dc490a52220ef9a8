"""``make bench`` in its tiny mode: it runs end to end and writes rows of the promised shape.

Timings are never asserted (they are measured in ``make bench``): this checks only that every
stage produced its rows, that every row carries a baseline from the same run, and that the
ratio is what the docs say it is.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

KEYS = {"name", "value", "unit", "baseline_name", "baseline_value", "ratio", "note"}
# every measurement the brief asks for, by a word of its row name
EXPECTED = ("append via cmd.<service>, 1 client", "append via cmd.<service>, 32 clients", "projection (SQLite)",
            "projection (PostgreSQL)", "rebuild of", "bulk import", "single fact via POST /v1/facts",
            "timeline", "scheduler", "reads: timeline page", "reads: portfolio page")


@pytest.mark.slow
def test_tiny_bench_writes_a_row_with_a_baseline_for_every_measure(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    env = {**os.environ, "COLUMNS": "200"}
    for key in ("LEDGER_NATS_URL", "LEDGER_DATABASE_URL", "LEDGER_HOME"):
        env.pop(key, None)
    run = subprocess.run([sys.executable, "-m", "ledger_bench", "--tiny", "--out", str(out)],
                         capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert isinstance(rows, list) and len(rows) >= len(EXPECTED)
    for row in rows:
        assert set(row) == KEYS, row
        assert isinstance(row["name"], str) and row["name"]
        assert row["unit"] in ("facts/s", "events/s", "ms", "s", "MB"), row
        assert isinstance(row["baseline_name"], str) and row["baseline_name"], row
        skipped = isinstance(row["note"], str) and row["note"].startswith("skipped:")
        assert row["value"] is not None or row["note"], row  # a missing figure says why
        # a baseline is measured in the same run — unless the whole row is skipped, saying why
        assert isinstance(row["baseline_value"], int | float) or skipped, row
        if row["value"] is not None and row["baseline_value"]:
            assert math.isclose(row["ratio"], row["value"] / row["baseline_value"], rel_tol=1e-3), row
        else:
            assert row["ratio"] is None, row
    names = [r["name"] for r in rows]
    for expected in EXPECTED:
        assert any(expected in n for n in names), (expected, names)
    meta = json.loads(out.with_name("latest.meta.json").read_text())
    assert meta["preset"] == "tiny" and meta["machine"]["nproc"] and "nats-server" in meta["machine"]["nats_server"]
    assert "ledger bench (tiny)" in run.stdout
