"""Test support shared by the test suites (never imported by production code).

``shared.testing.servers`` re-exports the private NATS JetStream server (``shared.natsserver``),
creates and drops throw-away PostgreSQL databases, and offers ``wait_until`` so tests poll for a
condition instead of sleeping; ``shared.testing.stack`` runs services as processes for e2e tests.
"""
