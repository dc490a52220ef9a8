"""Domain service owning code numbers, traffic and numbering."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="numbers",
    module="ledger_numbers",
    kind=ServiceKind.domain,
    aggregates=("number", "numbering", "traffic"),
)
