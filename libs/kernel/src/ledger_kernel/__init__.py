"""The event-sourcing kernel of the compliance ledger.

Events are plain immutable records (CloudEvents with a per-aggregate hash chain);
JetStream is the only store. Persistence (``store``) is separate from the domain
model (``aggregate``) so either can change without the other.

Importing the package loads no NATS client: pure modules (envelope, chain, clock, settings, subjects)
stay pure. The nats-py header parser is swapped for a faster one by the transport module
(:mod:`ledger_kernel.connection`), only when a process talks to NATS.
"""
