"""Inspections use cases: load, authorise, decide, append — one small function each."""
