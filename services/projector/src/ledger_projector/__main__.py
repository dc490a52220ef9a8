"""``python -m ledger_projector``: the projector alone in its own process."""

import asyncio

from ledger_kernel.runtime import serve_forever
from ledger_kernel.telemetry import setup_logging, setup_telemetry

from ledger_projector import collector
from ledger_projector.service import build
from ledger_projector.settings import ProjectorSettings


def main() -> None:
    settings = ProjectorSettings.at_start("ledger_projector", service="projector")  # a bad variable ends it here
    setup_logging(settings.log_level)
    setup_telemetry("projector")
    collector.tune()  # after start-up's imports: they are frozen out of every collection
    asyncio.run(serve_forever([build()], settings, "projector"))


if __name__ == "__main__":
    main()
