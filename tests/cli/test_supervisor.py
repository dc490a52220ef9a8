"""``ledger up``'s supervisor with real (tiny) processes: restart one crash, stop on a crash loop naming it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from ledger_cli.supervisor import Command, CrashLoop, Supervisor
from ledger_kernel.supervision import SUPERVISION_FILE, read_status

STEADY = Command([sys.executable, "-c", "import time; time.sleep(120)"], {})
BROKEN = Command([sys.executable, "-c", "raise SystemExit(3)"], {})


def crash_once(marker: Path) -> Command:
    """Exits 7 the first time, then runs: one crash, one restart."""
    code = (f"import pathlib, sys, time\np = pathlib.Path({str(marker)!r})\n"
            "if not p.exists():\n    p.touch(); sys.exit(7)\ntime.sleep(120)\n")
    return Command([sys.executable, "-c", code], {})


def run_until(supervisor: Supervisor, done, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "condition not reached in time"
        supervisor.check()
        time.sleep(0.05)


def test_a_crashed_service_is_restarted_and_the_others_keep_running(tmp_path):
    said: list[str] = []
    status = tmp_path / "supervision.json"
    supervisor = Supervisor({"steady": STEADY, "flaky": crash_once(tmp_path / "crashed")}, tmp_path, status,
                            say=said.append)
    supervisor.start()
    try:
        steady_pid = supervisor.children["steady"].process.pid
        run_until(supervisor, lambda: supervisor.children["flaky"].state.restarts == 1
                  and supervisor.children["flaky"].process is not None)
        time.sleep(0.5)
        supervisor.check()  # the restarted one stays up
        flaky = read_status({SUPERVISION_FILE: str(status)})["flaky"]
        assert (flaky.state, flaky.restarts, flaky.last_exit_code) == ("running", 1, 7)
        assert supervisor.children["steady"].process.pid == steady_pid
        assert supervisor.children["steady"].process.poll() is None
        assert any(line.startswith("flaky exited with 7: restarting in 0.5 s") for line in said), said
        assert "flaky restarted (restart 1) 已重启" in said
    finally:
        supervisor.stop()
    assert not status.exists()  # nothing stale for a later gateway to read


def test_a_crash_loop_stops_naming_the_service(tmp_path):
    status = tmp_path / "supervision.json"
    supervisor = Supervisor({"steady": STEADY, "broken": BROKEN}, tmp_path, status, say=lambda _: None,
                            max_crashes=3, window=60.0)
    supervisor.start()
    try:
        with pytest.raises(CrashLoop) as raised:
            run_until(supervisor, lambda: False)
        assert raised.value.service == "broken"
        assert str(raised.value).startswith("broken crashed 3 times within 60 s: stopping the stack")
        assert json.loads(status.read_text())["broken"]["state"] == "crash_loop"
        assert supervisor.children["steady"].process.poll() is None
    finally:
        supervisor.stop()
    assert supervisor.children["steady"].process.poll() is not None  # stop ends every service


def test_crashes_far_apart_are_not_a_loop(tmp_path):
    """Only crashes within the window count: a fake clock moves 61 s between crashes."""
    now = [0.0]
    supervisor = Supervisor({"broken": BROKEN}, tmp_path, tmp_path / "s.json", say=lambda _: None,
                            max_crashes=2, window=60.0, clock=lambda: now[0])
    supervisor.start()
    try:
        for _ in range(4):
            run_until(supervisor, lambda: supervisor.children["broken"].restart_at is not None)
            now[0] += 61.0
            run_until(supervisor, lambda: supervisor.children["broken"].restart_at is None)
        assert supervisor.children["broken"].state.restarts == 4
    finally:
        supervisor.stop()
