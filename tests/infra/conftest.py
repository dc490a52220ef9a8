"""Fixtures for the infrastructure tests: a local three-node cluster of the wheel's nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from ledger_kernel.streams import provision
from local_cluster import LocalCluster


@pytest.fixture
def local_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path / "cluster")
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
async def provisioned_cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalCluster]:
    """One formed cluster with LEDGER and ALERTS at three replicas, shared by a module's tests."""
    cluster = LocalCluster(Path(tmp_path_factory.mktemp("cluster")))
    cluster.start()
    try:
        await cluster.wait_for_meta_leader(expect_peers=3)
        admin = await nats.connect(cluster.url("ledger-1", "admin"))
        try:
            await provision(admin, replicas=3)
        finally:
            await admin.close()
        yield cluster
    finally:
        cluster.stop()
