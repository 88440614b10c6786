"""HTTP plumbing shared by every service: app factory, error mapping, health and metrics."""
