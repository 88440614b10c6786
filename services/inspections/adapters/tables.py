"""The inspections service's own tables beside its event log.

Two kinds:

* **lookups of its own events** (``groups``, ``inspections``, ``rectifications``), written in the
  command's transaction and rebuildable from the log, plus ``ledger_counters``, the sequence behind
  the printed ledger numbers (ZG-2026-0001);
* **facts learned from other services' events** (``known_*``), written by durable consumers through
  the pure projections of :mod:`services.inspections.adapters.facts`: templates published by the
  checklists service, and staff, departments, org units and persons (by opaque id) from the registry.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

# --- lookups of the service's own streams ---------------------------------------------------------

groups = Table(
    "groups", metadata,
    Column("group_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("leader", String(50), nullable=False),
    Column("members", Text, nullable=False),  # JSON list of staff ids
    Column("township_codes", Text, nullable=False),  # JSON list
    Column("unit_codes", Text, nullable=False),  # JSON list
)

inspections = Table(
    "inspections", metadata,
    Column("inspection_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("group_id", String(36), nullable=False, index=True),
    Column("target_kind", String(20), nullable=False),
    Column("target_code", String(50), nullable=False),
    Column("target_name", String(200), nullable=False),
    Column("township_code", String(12)),
    Column("template_id", String(100), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("scheduled_on", Date, nullable=False),
    Column("started_on", Date),
    Column("completed_on", Date),
    Column("score", Float),
    Column("findings", Integer, nullable=False),
)

rectifications = Table(
    "rectifications", metadata,
    Column("rectification_id", String(50), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("number", String(20), unique=True),
    Column("finding_id", String(36), nullable=False),
    Column("inspection_id", String(36), nullable=False),
    Column("group_id", String(36), nullable=False),
    Column("township_code", String(12)),
    Column("responsible_unit", String(50), nullable=False),
    Column("problem", Text, nullable=False),
    Column("measures", Text, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("status", String(12), nullable=False),
    Column("assigned_on", Date, nullable=False),
    Column("reported_on", Date),
    Column("closed_on", Date),
    Column("reopen_count", Integer, nullable=False),
    Index("ix_rectifications_unit_status", "responsible_unit", "status"),
    Index("ix_rectifications_group", "group_id"),
)

ledger_counters = Table(
    "ledger_counters", metadata,
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

# --- facts learned from other services' events ----------------------------------------------------

known_templates = Table(
    "known_templates", metadata,
    Column("template_id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("items", Text, nullable=False),  # JSON list of TemplateItem dicts, in template order
    Column("published_on", Date, nullable=False),
    Column("supersedes", Integer),
)

known_staff = Table(
    "known_staff", metadata,
    Column("staff_id", String(50), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("department", String(50), nullable=False),
    Column("roles", Text, nullable=False),  # JSON list, sorted
    Column("township_code", String(12)),
)

known_departments = Table(
    "known_departments", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("org_unit_code", String(12)),
)

known_org_units = Table(
    "known_org_units", metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(12)),
)

known_persons = Table(
    "known_persons", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("township_code", String(12), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("severe", Boolean, nullable=False),
    Column("hardship", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Index("ix_known_persons_township", "township_code"),
)

known_person_years = Table(
    "known_person_years", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("visited", Boolean, nullable=False, default=False, server_default=false()),
    Column("planned", Boolean, nullable=False, default=False, server_default=false()),
)

person_note_keys = Table(
    # A data key per person that inspections wrote a free text about (wrapped by the master key):
    # focus-check notes and findings are sealed with it. Not a projection: no event holds it, and
    # when the registry erases the person, this service destroys it (``wrapped_key`` NULL).
    "person_note_keys", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("wrapped_key", LargeBinary),
    Column("erased_at", DateTime(timezone=True)),
)
