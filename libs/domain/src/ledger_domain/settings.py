"""The settings of a command service (licences, numbers, penalties, personnel, premises)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from ledger_kernel.settings import Expect, Settings
from pydantic import Field


class CommandSettings(Settings):
    process: ClassVar[str] = "command services"

    cmd_workers: Annotated[int, Field(ge=1, le=65536), Expect("an integer, 1-65536")] = Field(
        256, description="commands a service handles at once (requests on cmd.<service> in flight)")
