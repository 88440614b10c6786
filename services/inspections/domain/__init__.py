"""Inspections domain: groups, inspections and rectifications as pure folds and commands, no I/O."""
