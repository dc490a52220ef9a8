"""Projects LEDGER into per-company compliance timelines; schedules reminders."""
