"""The projector's admin library: what operators' tools (the ``ledger`` command line) may call.

A full rebuild of the read model (in parallel, with progress) and its digest, the collector settings
of a process that projects, the events parked for a broken chain, and the system facts only the
projector reads (official holiday schedules, a tenant's rule overrides), which are published on LEDGER. Tools use these names only; the rest of the package
is the projector's own and may change.
"""

from __future__ import annotations

from ledger_kernel.repository import Recorded

from ledger_projector.chain_guard import ParkedReport, parked_report
from ledger_projector.collector import tune as tune_collector
from ledger_projector.rebuild import (
    MAX_WORKERS,
    RebuildFailed,
    RebuildProgress,
    RebuildReport,
    check_workers,
    read_model_digest,
    rebuild,
)
from ledger_projector.rebuild_workers import EVALUATING, REPLAYING, SWAPPING
from ledger_projector.settings import ProjectorSettings
from ledger_projector.system_facts import Loaded, load_calendar, set_rule_overrides

__all__ = ["EVALUATING", "MAX_WORKERS", "REPLAYING", "SWAPPING", "Loaded", "ParkedReport", "ProjectorSettings", "RebuildFailed",
           "RebuildProgress", "RebuildReport", "Recorded", "check_workers", "load_calendar", "parked_report",
           "read_model_digest", "rebuild", "set_rule_overrides", "tune_collector"]
