"""Domain service owning sites and facilities."""
