"""Projects LEDGER into per-company compliance timelines; schedules reminders."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="projector",
    module="ledger_projector",
    kind=ServiceKind.projector,
)
