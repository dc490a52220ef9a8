"""The generic fact endpoint shared by the five domain services."""
