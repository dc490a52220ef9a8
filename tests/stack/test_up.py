"""``ledger up``: the embedded stack starts, answers, stops cleanly on Ctrl-C, and finds its data again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from ledger_kernel.connection import connect
from ledger_kernel.embedded import free_port

FACT = {"type": "company.registered", "company": "91310115MA1K4B8N68", "effective_date": "2021-06-01",
        "data": {"name": "上海某客服外包有限公司", "registered_capital": 12000000, "province": "31",
                 "industry": "other", "business_scope": ["呼叫中心业务"]}}
LATER = {"type": "company.capabilities_declared", "company": "91310115MA1K4B8N68", "effective_date": "2021-07-01",
         "data": {"ai_outbound": False, "algorithm_filing_no": None, "cross_border": False,
                  "data_export_filing_no": None}}


class Stack:
    def __init__(self, home: Path, *, single: bool) -> None:
        self.home = home
        self.nats_port = free_port()
        self.http_port = free_port()
        self.single = single
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, "LEDGER_HOME": str(self.home), "LEDGER_NATS_PORT": str(self.nats_port),
               "LEDGER_HTTP_PORT": str(self.http_port), "LEDGER_ENV": "test"}
        for key in ("LEDGER_NATS_URL", "LEDGER_DATABASE_URL"):
            env.pop(key, None)
        return env

    def up(self, timeout: float = 60) -> None:
        args = [sys.executable, "-m", "ledger_cli.main", "up"] + (["--single-process"] if self.single else [])
        self.log = open(self.home.parent / f"{self.home.name}-up.log", "ab")
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError("stack not ready in time:\n" + self.output())

    def output(self) -> str:
        return (self.home.parent / f"{self.home.name}-up.log").read_text(errors="replace")[-4000:]

    def interrupt(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(40)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def record(self, tenant: str, command_id: str, fact: dict = FACT) -> dict:
        async def go() -> dict:
            nc = await connect(f"nats://127.0.0.1:{self.nats_port}", "test-stack")
            try:
                body = {"tenant": tenant, "fact": fact, "command_id": command_id}
                msg = await nc.request("cmd.licences", json.dumps(body).encode(), timeout=10)
                return json.loads(msg.data)
            finally:
                await nc.close()

        return asyncio.run(go())

    def verify(self) -> dict:
        out = subprocess.run([sys.executable, "-m", "ledger_cli.main", "verify", "--json"], env=self.env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("single", [True, False], ids=["single-process", "separate-processes"])
def test_up_stop_and_up_again_keeps_the_ledger(tmp_path, single):
    stack = Stack(tmp_path / "home", single=single)
    stack.up()
    try:
        first = stack.record("tstack", "c1")
        assert first["ok"] is True and first["sequence"] == 1, first
    finally:
        assert stack.interrupt() == 0, stack.output()
    assert "stopped" in stack.output()
    assert (tmp_path / "home" / "nats").is_dir()
    stack.up()
    try:
        again = stack.record("tstack", "c1")  # the same command: found again, not appended again
        assert again["ok"] is True and again["duplicate"] is True and again["ledger_sequence"] == first["ledger_sequence"]
        second = stack.record("tstack", "c2", LATER)
        assert second["ok"] is True and second["sequence"] == 2, second
    finally:
        assert stack.interrupt() == 0, stack.output()
    report = stack.verify()
    assert report["intact"] is True and report["events"] == 2


@pytest.mark.slow
def test_two_stacks_side_by_side(tmp_path):
    a, b = Stack(tmp_path / "a", single=True), Stack(tmp_path / "b", single=True)
    a.up()
    try:
        b.up()
        try:
            assert a.record("ta", "x")["ok"] is True
            assert b.record("tb", "x")["ok"] is True
        finally:
            assert b.interrupt() == 0, b.output()
    finally:
        assert a.interrupt() == 0, a.output()
    assert a.verify()["events"] == 1 and b.verify()["events"] == 1
