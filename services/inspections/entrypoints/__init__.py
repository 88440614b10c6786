"""HTTP entrypoints of the inspections service."""
