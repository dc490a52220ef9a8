"""Domain service owning penalties and listings."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="penalties",
    module="ledger_penalties",
    kind=ServiceKind.domain,
    aggregates=("penalty", "listing"),
)
