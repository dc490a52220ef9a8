"""``ledger up``'s supervisor: one crash restarts one service, the others keep serving.

A service that exits is started again after a backoff (0.5 s, doubling, at most 10 s) and the
restart is logged and written to the supervision file the gateway's ``/readyz`` reads. Only a
service that crash-loops (``max_crashes`` exits within ``window`` seconds) stops the whole stack,
and the supervisor says which.
"""

from __future__ import annotations

import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ledger_kernel.supervision import ServiceState, write_status

MAX_CRASHES = 5
CRASH_WINDOW = 60.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0


class CrashLoop(RuntimeError):
    """A service kept crashing: the stack stops rather than flap forever."""

    def __init__(self, name: str, crashes: int, window: float, log: Path) -> None:
        super().__init__(f"{name} crashed {crashes} times within {window:.0f} s: stopping the stack; see {log} "
                         f"（{name} 在 {window:.0f} 秒内崩溃 {crashes} 次，已停止全部服务）")
        self.service = name


@dataclass(frozen=True)
class Command:
    """How to start one service: its argv and its own environment (its own bus user)."""

    argv: Sequence[str]
    env: Mapping[str, str]


@dataclass
class Child:
    """One supervised process and its crash history."""

    name: str
    command: Command
    log: Path
    process: subprocess.Popen | None = None
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    state: ServiceState = field(default_factory=lambda: ServiceState(state="running"))


class Supervisor:
    def __init__(self, commands: Mapping[str, Command], logs: Path, status_file: Path, *, say: Callable[[str], None] = print, max_crashes: int = MAX_CRASHES,
                 window: float = CRASH_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.children = {name: Child(name, command, logs / f"{name}.log") for name, command in commands.items()}
        self.status_file = status_file
        self.say = say
        self.max_crashes = max_crashes
        self.window = window
        self.clock = clock

    def _spawn(self, child: Child) -> None:
        out = open(child.log, "ab")
        try:
            child.process = subprocess.Popen(list(child.command.argv), env=dict(child.command.env), stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
        finally:
            out.close()
        child.state = child.state.model_copy(update={"state": "running"})

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)
        self._publish()

    def _publish(self) -> None:
        write_status(self.status_file, {c.name: c.state for c in self.children.values()})

    def check(self) -> None:
        """Notice exits, schedule restarts, start those whose backoff is over; raise :class:`CrashLoop`."""
        now = self.clock()
        changed = False
        for child in self.children.values():
            proc = child.process
            if proc is not None and proc.poll() is not None:
                child.process = None
                child.crashes.append(now)
                while child.crashes and now - child.crashes[0] > self.window:
                    child.crashes.popleft()
                if len(child.crashes) >= self.max_crashes:
                    child.state = child.state.model_copy(update={"state": "crash_loop",
                                                                 "last_exit_code": proc.returncode})
                    self._publish()
                    raise CrashLoop(child.name, len(child.crashes), self.window, child.log)
                backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (len(child.crashes) - 1))
                child.restart_at = now + backoff
                child.state = ServiceState(state="restarting", restarts=child.state.restarts,
                                           last_exit_code=proc.returncode,
                                           last_crash=datetime.now(UTC).isoformat(timespec="seconds"))
                self.say(f"{child.name} exited with {proc.returncode}: restarting in {backoff:.1f} s "
                         f"(crash {len(child.crashes)} of {self.max_crashes} allowed within {self.window:.0f} s); "
                         f"see {child.log} 服务崩溃，正在重启")
                changed = True
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                self._spawn(child)
                child.state = child.state.model_copy(update={"restarts": child.state.restarts + 1})
                self.say(f"{child.name} restarted (restart {child.state.restarts}) 已重启")
                changed = True
        if changed:
            self._publish()

    def stop(self, timeout: float = 15.0) -> None:
        running = [c.process for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.status_file.unlink(missing_ok=True)
