"""The event-sourcing kernel of the compliance ledger.

Events are plain immutable records (CloudEvents with a per-aggregate hash chain);
JetStream is the only store. Persistence (``store``) is separate from the domain
model (``aggregate``) so either can change without the other.
"""

from ledger_kernel import headers as _headers

_headers.install()
