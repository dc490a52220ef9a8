"""A three-node JetStream cluster on 127.0.0.1, from the wheel's nats-server and infra/nats/cluster-local.conf.

The configuration under test is used as it is: the test only fills in the environment
the file asks for (names, ports, store directories, routes, passwords).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats
from ledger_kernel.bus_access import USERS as BUS_USERS
from ledger_kernel.embedded import free_port, nats_server_binary

REPO = Path(__file__).resolve().parents[2]
NATS_DIR = REPO / "infra" / "nats"
LOCAL_CONF = NATS_DIR / "cluster-local.conf"
# Users of accounts.conf (admin and one per installed service); "route" is the cluster-port credential.
USERS = (*(u.name for u in BUS_USERS if u.in_compose), "reader", "sys", "route")


def password_env(passwords: dict[str, str]) -> dict[str, str]:
    return {f"NATS_PW_{user.upper()}": pw for user, pw in passwords.items()}


def fresh_passwords() -> dict[str, str]:
    return {user: f"pw-{secrets.token_hex(8)}" for user in USERS}


@dataclass
class Node:
    name: str
    client_port: int
    cluster_port: int
    store: Path
    log: Path
    process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalCluster:
    """Three nats-server processes forming one JetStream cluster (cluster-local.conf)."""

    home: Path
    size: int = 3
    passwords: dict[str, str] = field(default_factory=fresh_passwords)
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i in range(1, self.size + 1):
            store = self.home / f"ledger-{i}"
            self.nodes.append(Node(f"ledger-{i}", free_port(), free_port(), store, self.home / f"ledger-{i}.log"))

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def environment(self, node: Node) -> dict[str, str]:
        route_pw = self.passwords["route"]
        routes = ", ".join(f"nats-route://route:{route_pw}@127.0.0.1:{n.cluster_port}" for n in self.nodes)
        return {**os.environ, **password_env(self.passwords),
                "NATS_SERVER_NAME": node.name, "NATS_CLIENT_PORT": str(node.client_port),
                "NATS_CLUSTER_PORT": str(node.cluster_port), "NATS_STORE_DIR": json.dumps(str(node.store)),
                "NATS_ROUTES": f"[{routes}]"}

    def start_node(self, node: Node, timeout: float = 15.0) -> None:
        node.store.mkdir(parents=True, exist_ok=True)
        log = open(node.log, "ab")
        node.process = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(LOCAL_CONF)], env=self.environment(node),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited with {node.process.returncode}: {node.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", node.client_port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{node.name} did not listen on {node.client_port} within {timeout}s")

    def start(self) -> LocalCluster:
        for node in self.nodes:
            self.start_node(node)
        return self

    def url(self, node: Node | str, user: str) -> str:
        node = self.node(node) if isinstance(node, str) else node
        return f"nats://{user}:{self.passwords[user]}@127.0.0.1:{node.client_port}"

    def kill(self, name: str) -> None:
        """SIGKILL: no flush, no leaving the cluster politely."""
        node = self.node(name)
        if node.running:
            os.kill(node.process.pid, signal.SIGKILL)
            node.process.wait()

    def stop(self) -> None:
        for node in self.nodes:
            if node.running:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()

    async def jsz(self, via: Node | None = None, wait: float = 0.5) -> list[dict]:
        """JetStream state of every reachable node, asked over the system account ($SYS.REQ.SERVER.PING.JSZ)."""
        via = via or next(n for n in self.nodes if n.running)
        nc = await nats.connect(self.url(via, "sys"), connect_timeout=2, allow_reconnect=False)
        try:
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish("$SYS.REQ.SERVER.PING.JSZ", b"{}", reply=inbox)
            replies: list[dict] = []
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await sub.next_msg(timeout=left)
                except nats.errors.TimeoutError:
                    break
                replies.append(json.loads(msg.data))
            return replies
        finally:
            await nc.close()

    async def wait_for_meta_leader(self, expect_peers: int, within: float = 30.0) -> str:
        """The JetStream meta leader, once every running node agrees on it and sees the whole cluster."""
        deadline = time.monotonic() + within
        last: object = None
        while time.monotonic() < deadline:
            try:
                replies = await self.jsz()
            except (TimeoutError, OSError, nats.errors.Error) as exc:
                last = exc
                await asyncio.sleep(0.2)
                continue
            metas = [r.get("data", {}).get("meta_cluster") or {} for r in replies]
            leaders = {m.get("leader") for m in metas}
            sizes = {m.get("cluster_size") for m in metas}
            last = metas
            if len(replies) == expect_peers and len(leaders) == 1 and None not in leaders and "" not in leaders \
                    and sizes == {self.size}:
                return leaders.pop()
            await asyncio.sleep(0.2)
        raise AssertionError(f"no JetStream meta leader agreed within {within}s: {last}")
