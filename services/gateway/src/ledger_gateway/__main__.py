"""``python -m ledger_gateway``: the gateway alone, against the stack's NATS."""

import asyncio

from ledger_kernel.runtime import serve_forever
from ledger_kernel.telemetry import setup_logging, setup_telemetry

from ledger_gateway.config import GatewayConfig, GatewaySettings
from ledger_gateway.service import GatewayService


def main() -> None:
    settings = GatewaySettings.at_start("ledger_gateway", service="gateway")  # a bad variable ends it here
    setup_logging(settings.log_level)
    setup_telemetry("gateway")
    service = GatewayService(config=GatewayConfig.of(settings))
    asyncio.run(serve_forever([service], settings, "gateway"))


if __name__ == "__main__":
    main()
