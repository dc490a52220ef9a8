"""Domain service owning companies, licences and outsourcing."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="licences",
    module="ledger_licences",
    kind=ServiceKind.domain,
    aggregates=("company", "licence", "outsourcing"),
)
