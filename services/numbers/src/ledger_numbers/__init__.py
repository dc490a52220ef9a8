"""Domain service owning code numbers, traffic and numbering."""
