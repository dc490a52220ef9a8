"""The public HTTP API: authentication, tenancy, OpenAPI, the calendar feed."""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="gateway",
    module="ledger_gateway",
    kind=ServiceKind.gateway,
    serves_http=True,
)
