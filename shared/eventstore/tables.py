"""Tables every service keeps in its own database: the event log, the outbox (and the streams it
parked), consumer checkpoints and dead letters."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("stream_id", String(200), nullable=False),
    Column("stream_type", String(50), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("department", String(50), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    Index("ix_events_stream_type", "stream_type", "position"),
)

# Positions of events committed but not yet acknowledged by JetStream.
outbox = Table(
    "outbox",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
)

# Streams the relay set aside: their first unpublished event can never be published (larger than
# NATS's max_payload). Their events stay in the outbox, in order, until an operator releases the
# stream (`release-stream`) or the server's max_payload grows past the one recorded here.
parked_streams = Table(
    "parked_streams",
    metadata,
    Column("stream_id", String(200), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("max_payload", BigInteger, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
)

# What a consumer has applied, per source stream, written with the read-model change.
tracking = Table(
    "tracking",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("source", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# Every event id a read model (a consumer's feed) has applied: an id counts at most once, whatever
# stream sequence or Nats-Msg-Id it arrives under again. Written with the read-model change.
applied_events = Table(
    "applied_events",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Position, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("subject", String(300), nullable=False),
    Column("event_id", String(36)),
    Column("event_type", String(100)),
    Column("reason", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
)

# Who may act here: every service's copy of the registry's staff, fed by its staff events (the
# registry writes its own inline). The bearer dependency checks each token against it (shared.staff).
staff_directory = Table(
    "staff_directory",
    metadata,
    Column("staff_id", String(50), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("township_code", String(12)),
    Column("active", Boolean, nullable=False),
)
