"""Domain service owning sites and facilities."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="premises",
    module="ledger_premises",
    kind=ServiceKind.domain,
    aggregates=("site", "facility"),
)
