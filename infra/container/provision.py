"""One-shot job: create LEDGER, ALERTS and the company_summaries bucket (LEDGER_REPLICAS replicas).

The projector creates the bucket itself when it is missing, but with one replica; made here
first, it keeps the cluster's replica count and the projector simply binds to it.

Runs as the ``admin`` user (LEDGER_NATS_URL). A cluster that has just started has no
JetStream meta leader for a few seconds: the job retries until LEDGER_PROVISION_TIMEOUT
(seconds, default 120), then fails saying why. Existing streams are checked, not replaced
(ledger_kernel.streams.provision refuses streams that lost deny_delete/deny_purge).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Annotated, ClassVar

from ledger_kernel.connection import connect
from ledger_kernel.settings import Expect, Settings
from ledger_kernel.streams import ALERTS, KV_SUMMARIES, LEDGER, ServerTooOld, provision
from nats.js.errors import BucketNotFoundError
from pydantic import Field

log = logging.getLogger("provision")


class ProvisionSettings(Settings):
    process: ClassVar[str] = "provision job (compose)"

    provision_timeout: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False),
                                 Expect("seconds, more than 0 and at most 3600")] = Field(
        120.0, description="how long the provision job retries while a new cluster elects its JetStream leader")


async def run(settings: Settings, patience: float) -> int:
    deadline = time.monotonic() + patience
    last: Exception | None = None
    while time.monotonic() < deadline:
        nc = None
        try:
            nc = await connect(settings.effective_nats_url, "provision", max_reconnect_attempts=0,
                               allow_reconnect=False)
            await provision(nc, settings.replicas)
            js = nc.jetstream()
            try:
                await js.key_value(KV_SUMMARIES)
            except BucketNotFoundError:  # the projector's settings, with the cluster's replicas
                await js.create_key_value(bucket=KV_SUMMARIES, history=1, replicas=settings.replicas,
                                          description="Each company's latest compliance summary")
            for name in (LEDGER, ALERTS, f"KV_{KV_SUMMARIES}"):
                info = await js.stream_info(name)
                print(f"{name}: replicas={info.config.num_replicas} leader={info.cluster.leader if info.cluster else '-'} "
                      f"messages={info.state.messages}", flush=True)
            return 0
        except ServerTooOld as exc:  # waiting will not help
            print(f"provision refused: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # JetStream not ready yet, node still starting: try again
            last = exc
            await asyncio.sleep(1.0)
        finally:
            if nc is not None and not nc.is_closed:
                await nc.close()
    print(f"provision gave up after {patience:.0f}s: {type(last).__name__}: {last}", file=sys.stderr)
    return 1


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    settings = ProvisionSettings.at_start("provision")
    if settings.embedded:
        print("LEDGER_NATS_URL is not set: nothing to provision (the embedded stack provisions itself)",
              file=sys.stderr)
        return 2
    return asyncio.run(run(settings, settings.provision_timeout))


if __name__ == "__main__":
    sys.exit(main())
