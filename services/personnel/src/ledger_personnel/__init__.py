"""Domain service owning workforce."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="personnel",
    module="ledger_personnel",
    kind=ServiceKind.domain,
    aggregates=("workforce",),
)
