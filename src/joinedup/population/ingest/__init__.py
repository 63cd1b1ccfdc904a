"""Ingest: an area's own data into the population store, validated, batched, nothing lost."""
