"""The projector's metrics (OpenTelemetry API: recorded only when a MeterProvider is configured).

Projection lag is the ledger's last sequence minus the checkpoint. The gauge is read in the
metric reader's thread, which cannot ask NATS, so :class:`LagWatch` keeps the ledger's last
sequence fresh from the follow loop (what each batch saw) and a slow poll (every few seconds,
so a stuck projector still shows its lag growing).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable

from ledger_kernel.telemetry import meter
from opentelemetry.metrics import CallbackOptions, Observation

log = logging.getLogger(__name__)
_meter = meter("ledger.projector")
_poison = _meter.create_counter("ledger.projector.poison_events", description="LEDGER messages parked as poison")
_published = _meter.create_counter("ledger.alerts.published", description="Alerts published to ALERTS, by type")
_watches: weakref.WeakSet[LagWatch] = weakref.WeakSet()


def parked(count: int) -> None:
    if count:
        _poison.add(count)


def published(alert_type: str, count: int = 1) -> None:
    _published.add(count, {"type": alert_type})


class LagWatch:
    """The ledger's last sequence as last seen, against the projector's applied sequence."""

    def __init__(self, applied: Callable[[], int], last_sequence: Callable[[], Awaitable[int]],
                 every: float = 5.0) -> None:
        self.applied = applied
        self.last_sequence = last_sequence
        self.every = every
        self.ledger_last = 0
        self.closed = False
        _watches.add(self)

    def saw(self, sequence: int) -> None:
        self.ledger_last = max(self.ledger_last, sequence)

    @property
    def lag(self) -> int:
        return max(0, self.ledger_last - self.applied())

    async def run(self) -> None:
        while not self.closed:  # a flag as well as cancellation: nats-py's waits can swallow a cancel (3.11)
            try:
                self.saw(await self.last_sequence())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away: the gauge keeps the last value it knew
                log.debug("ledger last sequence unavailable: %s", exc)
            await asyncio.sleep(self.every)

    def close(self) -> None:
        self.closed = True
        _watches.discard(self)


def _observe_lag(_options: CallbackOptions) -> Iterable[Observation]:
    lags = [watch.lag for watch in list(_watches)]
    return [Observation(max(lags))] if lags else []  # instances in one process: the furthest behind


_meter.create_observable_gauge("ledger.projector.lag", callbacks=[_observe_lag], unit="{event}",
                               description="LEDGER's last sequence minus the projector's checkpoint")
