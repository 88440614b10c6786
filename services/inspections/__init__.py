"""The inspections service: inspection groups, inspections, findings and the rectification ledger."""
