"""Domain service owning workforce."""
