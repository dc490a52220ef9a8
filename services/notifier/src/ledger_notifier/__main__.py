"""``python -m ledger_notifier``: the notifier alone, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio

from ledger_kernel.runtime import serve_forever
from ledger_kernel.settings import Settings
from ledger_kernel.telemetry import setup_logging, setup_telemetry

from ledger_notifier.service import build


def main() -> None:
    setup_logging()
    setup_telemetry("notifier")
    asyncio.run(serve_forever([build()], Settings.from_env(), "notifier"))


if __name__ == "__main__":
    main()
