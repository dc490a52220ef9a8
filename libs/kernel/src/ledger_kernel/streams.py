"""Stream provisioning: LEDGER (the source of truth), ALERTS and CHECKPOINTS (signed heads of LEDGER).

LEDGER is append-only by configuration (``deny_delete``, ``deny_purge``) and keeps
everything forever; a server older than 2.11 is refused, because batched direct
get and the per-subject expected-sequence semantics we rely on need it.
"""

from __future__ import annotations

import dataclasses
import re

from nats.aio.client import Client
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

MIN_SERVER = (2, 11, 0)
LEDGER = "LEDGER"
ALERTS = "ALERTS"
CHECKPOINTS = "CHECKPOINTS"
KV_SUMMARIES = "company_summaries"


class ServerTooOld(RuntimeError):
    """The NATS server cannot host the ledger."""


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text or "")
    if not match:
        raise ServerTooOld(f"cannot read the NATS server version from {text!r}")
    return int(match[1]), int(match[2]), int(match[3])


def check_server(nc: Client) -> tuple[int, int, int]:
    """Refuse, saying why, a server older than 2.11 or one without JetStream."""
    info = getattr(nc, "_server_info", {}) or {}
    version = parse_version(info.get("version", ""))
    if version < MIN_SERVER:
        have = ".".join(map(str, version))
        raise ServerTooOld(
            f"NATS server {have} at {nc.connected_url.netloc if nc.connected_url else '?'} is too old: the ledger needs "
            f"2.11 or newer (batched direct get; expected-last-subject-sequence checks). "
            f"服务器版本 {have} 过旧，账本需要 NATS 2.11 或更高版本。"
        )
    if not info.get("jetstream", False):
        raise ServerTooOld("the NATS server runs without JetStream (-js): the ledger needs it. 服务器未启用 JetStream。")
    return version


def ledger_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=LEDGER,
        description="The compliance ledger: every fact as an immutable CloudEvent (append-only).",
        subjects=["ledger.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_msgs=-1, max_bytes=-1, max_age=0, max_msgs_per_subject=-1,
        max_msg_size=1024 * 1024,
        discard=DiscardPolicy.NEW,
        num_replicas=replicas,
        duplicate_window=120.0,
        deny_delete=True,
        deny_purge=True,
        allow_direct=True,
        allow_rollup_hdrs=False,
    )


def alerts_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=ALERTS,
        description="Alerts computed by the projector (deterministic ids; de-duplicated for a day).",
        subjects=["alerts.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=400 * 24 * 3600.0,
        max_msg_size=256 * 1024,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
        duplicate_window=24 * 3600.0,
        deny_delete=True,
        deny_purge=True,
        allow_direct=True,
    )


def checkpoints_config(replicas: int = 1) -> StreamConfig:
    """Signed heads of LEDGER (see ledger_kernel.checkpoints): kept apart from it, and as append-only."""
    return dataclasses.replace(
        ledger_config(replicas), name=CHECKPOINTS, subjects=["checkpoints.>"],
        description="Signed checkpoints of LEDGER: last sequence and a digest of every aggregate's head.")


async def provision(nc: Client, replicas: int = 1) -> None:
    """Create the streams, or check that existing ones keep the append-only guarantees."""
    check_server(nc)
    js = nc.jetstream()
    for config in (ledger_config(replicas), alerts_config(replicas), checkpoints_config(replicas)):
        assert config.name is not None  # each config above names its stream
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
            continue
        existing = info.config
        if not (existing.deny_delete and existing.deny_purge):
            raise RuntimeError(f"stream {config.name} exists without deny_delete/deny_purge: refusing to use it")
        if set(existing.subjects or []) != set(config.subjects or []):
            raise RuntimeError(f"stream {config.name} has subjects {existing.subjects}, expected {config.subjects}")
        if not existing.allow_direct:
            await js.update_stream(config)
