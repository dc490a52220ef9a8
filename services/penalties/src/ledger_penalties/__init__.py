"""Domain service owning penalties and listings."""
