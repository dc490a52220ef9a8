"""``python -m ledger_notifier``: the notifier alone, until SIGINT/SIGTERM.

Settings and the sealing key are checked before anything connects: a missing or malformed
key ends the process at once with the reason (exit status 2), not after a NATS handshake.
"""

from __future__ import annotations

import asyncio
import sys

from ledger_kernel.runtime import serve_forever
from ledger_kernel.settings import SettingsError
from ledger_kernel.telemetry import setup_logging, setup_telemetry

from ledger_notifier.config import NotifierConfig, NotifierSettings
from ledger_notifier.sealing_keys import secret_box
from ledger_notifier.service import build


def main() -> None:
    settings = NotifierSettings.at_start("ledger_notifier", service="notifier")  # a bad variable ends it here
    setup_logging(settings.log_level)
    config = NotifierConfig.of(settings)
    try:
        box = secret_box(config, settings)
    except SettingsError as exc:
        print(f"ledger_notifier: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    setup_telemetry("notifier")
    asyncio.run(serve_forever([build(config, box=box)], settings, "notifier"))


if __name__ == "__main__":
    main()
