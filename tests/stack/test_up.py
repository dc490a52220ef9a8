"""``ledger up``: the embedded stack starts, answers, stops cleanly on Ctrl-C, and finds its data again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from ledger_kernel.connection import connect
from ledger_kernel.embedded import free_port
from ledger_kernel.settings import Settings

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

    def start(self, *options: str, **extra_env: str) -> subprocess.Popen:
        args = [sys.executable, "-m", "ledger_cli.main", "up", *options] + (["--single-process"] if self.single else [])
        self.log = open(self.home.parent / f"{self.home.name}-up.log", "ab")
        self.proc = subprocess.Popen(args, env={**self.env, **extra_env}, stdout=self.log, stderr=subprocess.STDOUT)
        return self.proc

    def up(self, *options: str, timeout: float = 60) -> None:
        self.start(*options)
        try:
            ready = self.wait_ready(timeout)
        except BaseException:
            self.interrupt()
            raise
        if ready is None:  # never leave a stack running behind a failed test
            self.interrupt()
            raise AssertionError("stack not ready in time:\n" + self.output())

    def readyz(self) -> tuple[int, dict] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())
        except OSError:
            return None

    def wait_ready(self, timeout: float) -> dict | None:
        """The body of the first 200 from /readyz within ``timeout`` seconds, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.output()
            answer = self.readyz()
            if answer is not None and answer[0] == 200:
                return answer[1]
            time.sleep(0.25)
        return None

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
            # the command line's own bus user (LEDGER_HOME/keys/nats/cli.password)
            nc = await connect(Settings.from_env(self.env).effective_nats_url, "test-stack")
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


def child_pids(parent: int) -> dict[str, int]:
    """The services ``ledger up`` started: ``{"projector": pid, ...}`` (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat_fields[1]) == parent and b"-m" in cmdline:
            module = cmdline[cmdline.index(b"-m") + 1].decode()
            found[module.removeprefix("ledger_")] = int(entry.name)
    return found


@pytest.mark.slow
def test_a_killed_service_is_restarted_while_the_gateway_keeps_serving(tmp_path):
    """kill -9 of the projector: the gateway (same process) keeps answering and is ready again within 30 s."""
    stack = Stack(tmp_path / "home", single=False)
    stack.up()
    try:
        assert stack.record("tsup", "c1")["ok"] is True  # licences appends as its own bus user
        before = child_pids(stack.proc.pid)
        assert {"projector", "gateway", "licences", "notifier"} <= set(before), before
        os.kill(before["projector"], signal.SIGKILL)
        killed_at = time.monotonic()
        # the gateway answers all along (alive), and says the projector is being restarted or back
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.http_port}/healthz", timeout=5) as r:
            assert r.status == 200
        body = stack.wait_ready(30)
        assert body is not None, f"not ready again within 30 s: {stack.readyz()}\n{stack.output()}"
        back_in = time.monotonic() - killed_at
        assert body["services"]["projector"]["restarts"] == 1, body
        assert body["services"]["projector"]["last_exit_code"] == -9, body
        assert body["services"]["gateway"]["restarts"] == 0, body
        after = child_pids(stack.proc.pid)
        assert after["gateway"] == before["gateway"] and after["licences"] == before["licences"]
        assert after["projector"] != before["projector"]
        assert stack.record("tsup", "c2", LATER)["sequence"] == 2  # facts still go in
        print(f"ready again {back_in:.1f} s after kill -9 of the projector")
    finally:
        assert stack.interrupt() == 0, stack.output()
    assert "projector exited with -9: restarting" in stack.output()
    assert "projector restarted" in stack.output()


@pytest.mark.slow
def test_a_crash_looping_service_stops_the_stack_and_says_which(tmp_path):
    stack = Stack(tmp_path / "home", single=False)
    # the notifier alone reads this setting, and cannot start with it: it crashes at every start
    proc = stack.start(LEDGER_NOTIFIER_CONCURRENCY="many")
    try:
        code = proc.wait(180)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = stack.output()
    assert code == 1, output
    assert "notifier crashed 5 times within 60 s: stopping the stack" in " ".join(output.split()), output
    assert "stopped" in output
    assert child_pids(proc.pid) == {}


def projector_pids(parent: int) -> list[int]:
    """The projector workers ``ledger up`` started (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if ppid == parent and b"ledger_projector" in cmdline:
            out.append(int(entry.name))
    return out


@pytest.mark.slow
def test_up_with_two_projector_workers_shares_the_partitions(tmp_path):
    stack = Stack(tmp_path / "home", single=False)
    stack.up("--projector-workers", "2")
    try:
        assert len(projector_pids(stack.proc.pid)) == 2
        assert stack.record("twork", "c1")["ok"] is True
        assert stack.record("twork", "c2", LATER)["ok"] is True
        deadline = time.monotonic() + 30
        body: dict = {}
        while time.monotonic() < deadline:  # either worker answers; the low-water mark reaches both facts
            body = stack.wait_ready(10) or {}
            if (body.get("projection") or {}).get("applied_sequence") == 2:
                break
            time.sleep(0.25)
        assert (body.get("projection") or {}).get("applied_sequence") == 2, body
        assert {"projector-1", "projector-2"} <= set(body["services"]), body
    finally:
        assert stack.interrupt() == 0, stack.output()
    assert "2 workers over 16 partitions" in stack.output()
    logs = "".join((tmp_path / "home" / "logs" / f"projector-{i}.log").read_text() for i in (1, 2))
    assert "claimed partition" in logs
