"""``python -m ledger_gateway``: the gateway alone, against the stack's NATS."""

import asyncio

from ledger_kernel.runtime import serve_forever
from ledger_kernel.settings import Settings
from ledger_kernel.telemetry import setup_logging, setup_telemetry

from ledger_gateway.service import build


def main() -> None:
    setup_logging()
    setup_telemetry("gateway")
    asyncio.run(serve_forever([build()], Settings.from_env(service="gateway"), "gateway"))


if __name__ == "__main__":
    main()
