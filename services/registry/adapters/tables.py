"""The registry's own tables beside its event log: lookups kept in the command's transaction.

They are projections of the registry's own events (rebuildable from the log), except
``person_keys`` (the wrapped data keys, whose deletion is what erases a person) and the sign-in
tables ``staff_credentials`` and ``refresh_tokens`` (secrets kept out of every event).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy import true as sa_true

metadata = MetaData()

org_units = Table(
    "org_units",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(12)),
)

departments = Table(
    "departments",
    metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("org_unit_code", String(12)),
)

staff = Table(
    "staff",
    metadata,
    Column("staff_id", String(50), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("department", String(50), nullable=False),
    Column("roles", Text, nullable=False),
    Column("township_code", String(12)),
    Column("active", Boolean, nullable=False, server_default=sa_true()),
)

# Sign-in credentials: registry-local and in no event, so that no hash or code ever leaves this
# database (events say only that staff were enrolled, changed or disabled).
staff_credentials = Table(
    "staff_credentials",
    metadata,
    Column("staff_id", String(50), primary_key=True),
    Column("password_hash", Text),
    Column("setup_code_hash", String(64)),
    Column("setup_code_expires", DateTime(timezone=True)),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
)

# Refresh tokens by their SHA-256 (the token itself is only ever in the client's hands); a used
# token is marked revoked and replaced, so a stolen one works at most once.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(50), nullable=False, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False),
)

person_keys = Table(
    "person_keys",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("wrapped_key", LargeBinary),
    Column("erased_at", DateTime(timezone=True)),
)

resident_index = Table(
    "resident_index",
    metadata,
    Column("resident_index", String(64), primary_key=True),
    Column("person_id", String(36), nullable=False),
)

persons = Table(
    "persons",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("township_code", String(12), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("category", Integer, nullable=False),
    Column("grade", Integer, nullable=False),
    Column("severe", Boolean, nullable=False),
    Column("hardship", Text, nullable=False),
    Column("sex", String(6), nullable=False),
    Column("birth_year", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("erased", Boolean, nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("sealed", Text, nullable=False),
    Index("ix_persons_township_village", "township_code", "village_code"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("issued_on", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("suffix", String(8), nullable=False),
    Column("frozen_from", Date),
    Column("cancelled_from", Date),
    Column("cancelled_on", Date),
    Index("ix_certificates_valid_until", "valid_until"),
)
"""Each person's certificate dates (``certificate_life``); status is derived from them and the day."""

service_catalogue = Table(
    "service_catalogue",
    metadata,
    Column("code", String(50), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("need", String(50), nullable=False),
    Column("part", String(12), nullable=False),
    Column("responsible_department", String(50), nullable=False),
    Column("default_days", Integer, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)
"""The federation's service catalogue (``domain/service_catalogue.py``), one row per entry, retired ones kept."""
access_log = Table(
    "access_log",
    metadata,
    # Every read of personal data in clear: who, when, which person, which route. Not a projection
    # of events, and erasure leaves it: it names the person only by their opaque id.
    Column("entry_id", String(36), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(50), nullable=False),
    Column("roles", Text, nullable=False),
    Column("route", String(200), nullable=False),
    Column("what", String(20), nullable=False),
    Column("person_id", String(36)),
    Index("ix_access_log_person", "person_id"),
    Index("ix_access_log_staff_at", "staff_id", "at"),
)
