"""Domain service owning companies, licences and outsourcing."""
