"""Read models of the reporting service: pure projections of other services' events."""
