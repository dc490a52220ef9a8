"""What ``ledger up``'s supervisor tells the services: which of them run, and how often each restarted.

The supervisor writes a small JSON file and passes its path in ``LEDGER_SUPERVISION_FILE`` to every
service it starts; the gateway's ``/readyz`` reads it, so a restart shows where operators look.
A stack not started by ``ledger up`` has no such variable and no such section.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from ledger_kernel.settings import Settings

SUPERVISION_FILE = "LEDGER_SUPERVISION_FILE"


class ServiceState(BaseModel):
    """One supervised service: ``running``, ``restarting`` (crashed, back after a backoff) or ``crash_loop``
    (crashed too often: the stack is stopping)."""

    state: str
    restarts: int = 0
    last_exit_code: int | None = None
    last_crash: str | None = None


def write_status(path: Path, services: Mapping[str, ServiceState]) -> None:
    """Replace the file whole (write then rename), so a reader never sees half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({name: s.model_dump() for name, s in services.items()}))
    tmp.replace(path)


def read_status(env: Mapping[str, str] | None = None) -> dict[str, ServiceState] | None:
    """The supervisor's latest word, or None when this process is not supervised (or the file is unreadable)."""
    path = Settings.from_env(env).supervision_file
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
        return {name: ServiceState(**s) for name, s in data.items()}
    except (OSError, ValueError, TypeError):
        return None
