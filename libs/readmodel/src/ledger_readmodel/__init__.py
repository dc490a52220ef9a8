"""The read-model databases of the projector, the notifier and the gateway, built one way.

The three services share one LEDGER_DATABASE_URL (one SQLite file by default), so how an engine is
opened and how each service's tables are migrated must not drift apart between them.
"""
