"""The projector's own settings: :class:`ProjectorSettings` extends the kernel's (NATS, the database)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from ledger_kernel.settings import Expect, Settings, Whole
from pydantic import Field


class ProjectorSettings(Settings):
    process: ClassVar[str] = "projector"

    projector_batch: Annotated[int, Whole, Field(ge=1, le=1_000_000), Expect("an integer, 1-1000000")] = Field(
        1000, description="events per batch (one transaction) when caught up")
    projector_batch_max: Annotated[int, Whole, Field(ge=1, le=1_000_000), Expect("an integer, 1-1000000")] = Field(
        20000, description="the most events per batch while lagging: a full batch doubles the next one, a short "
                           "one goes back to the small size (never below LEDGER_PROJECTOR_BATCH)")
    scheduler_interval: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False),
                                  Expect("seconds, 0-86400")] = Field(
        60.0, description="seconds between scheduler ticks; 0 turns the loop off (tests tick by hand)")
    checkpoint_interval: Annotated[float, Field(ge=1, le=3600, allow_inf_nan=False),
                                   Expect("seconds, 1-3600")] = Field(
        60.0, description="the longest time between signed checkpoints while events arrive")
    projector_history_facts: Annotated[int, Whole, Field(ge=0, le=100_000_000),
                                       Expect("an integer, 0-100000000")] = Field(
        100_000, description="facts of company histories kept in memory between batches (least recently used "
                             "first out); 0 keeps none")
    projector_alert_settle: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False),
                                      Expect("seconds, 0-3600")] = Field(
        2.0, description="seconds a company's facts must be quiet before its alerts are decided, so facts "
                         "recorded together (an onboarding import, a licence and its renewal) are judged "
                         "together rather than one batch at a time; 0 decides in each batch")
    projector_partitions: Annotated[int, Whole, Field(ge=0, le=1024), Expect("an integer, 0-1024")] = Field(
        0, description="0: one projector follows LEDGER (the default); P > 0: the partitioned mode, where every "
                       "projector process is a worker sharing P partitions of LEDGER_P<P> by company through "
                       "leases (all workers must use the same P)")
    projector_lease_ttl: Annotated[float, Field(ge=2, le=60, allow_inf_nan=False), Expect("seconds, 2-60")] = Field(
        5.0, description="partitioned mode: seconds a partition lease lives without renewal (renewed every "
                         "second); a dead worker's partitions move to the others after about this long")
