"""Read-model fixtures: each service's own engine, and a directory this process cannot write.

The unwritable directory is ``read_only_dir`` of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ledger_gateway.database import engine_for
from ledger_notifier import database as notifier_database
from ledger_projector import database as projector_database
from sqlalchemy import Engine

ENGINES: dict[str, Callable[[str], Engine]] = {
    "projector": projector_database.make_engine,
    "notifier": notifier_database.make_engine,
    "gateway": engine_for,
}


@pytest.fixture(params=sorted(ENGINES))
def service_engine(request: pytest.FixtureRequest) -> Callable[[str], Engine]:
    """How one service opens its database (the gateway's engine is cached per URL)."""
    return ENGINES[request.param]
