"""Owns subscriptions and delivers alerts by webhook, e-mail and NATS.

service (build, the Service) · ops (cmd/query.notifier) · client (the gateway's API) ·
intake (ALERTS → deliveries, ack after commit) · dispatch (deliver from the table) ·
webhook / mail / bus (one attempt per channel) · targets (SSRF) · schedule (retries) ·
subscriptions (request checks, matching) · alerts / messages (reading and wording alerts) ·
records / tables / database (persistence) · sealed_secrets / sealing_keys (webhook secrets
encrypted at rest, and where their keys come from).
"""

from ledger_kernel.services import ServiceKind, ServiceSpec

# What ``ledger_kernel.services.discover`` finds through this package's ``ledger.services`` entry point.
SERVICE = ServiceSpec(
    name="notifier",
    module="ledger_notifier",
    kind=ServiceKind.notifier,
)
