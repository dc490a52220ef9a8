"""The command line's own settings: :class:`CliSettings` extends the kernel's (home, NATS, HTTP port)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from ledger_kernel.settings import Expect, Settings
from pydantic import Field, SecretStr


class CliSettings(Settings):
    process: ClassVar[str] = "ledger (command line)"

    api_key: Annotated[SecretStr | None, Expect("an API key (ledger tenant create prints one)")] = Field(
        None, description="the key the command line's HTTP commands present to the gateway (--key wins)")

    def revealed_api_key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None
