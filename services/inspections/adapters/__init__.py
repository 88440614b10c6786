"""The inspections service's tables and the projections of other services' facts."""
