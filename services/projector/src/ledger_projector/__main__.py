"""``python -m ledger_projector``: the projector alone in its own process."""

import asyncio

from ledger_kernel.runtime import serve_forever
from ledger_kernel.settings import Settings
from ledger_kernel.telemetry import setup_logging, setup_telemetry

from ledger_projector.service import build


def main() -> None:
    setup_logging()
    setup_telemetry("projector")
    asyncio.run(serve_forever([build()], Settings.from_env(service="projector"), "projector"))


if __name__ == "__main__":
    main()
