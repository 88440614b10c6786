"""The checklists instance's own tables beside its event log.

``replica_events`` holds verbatim copies of the other instances' events this instance needs (the
other half of its tasks and highlights, see ``domain/ownership.py``); ``departments`` is learned
from the registry's events. The other tables are lookups for listing and filtering, rewritten in the
transaction that changes their stream: all rebuildable. A task or highlight has one row per half
(``tasks`` / ``task_work``, ``highlights`` / ``highlight_reviews``), so every row has exactly one
writer — the command writer for the halves this instance owns, the replica consumer for the
others — and the two never wait on each other's locks.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

replica_events = Table(
    "replica_events", metadata,
    Column("stream_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("department", String(50), nullable=False),
    Column("envelope", Text, nullable=False),
)

departments = Table(
    "departments", metadata,
    Column("code", String(50), primary_key=True),
    Column("name", String(100), nullable=False),
)

task_lists = Table(
    "task_lists", metadata,
    Column("list_id", String(120), primary_key=True),
    Column("month", String(7), nullable=False),
    Column("title", String(200), nullable=False),
    Column("issuer_department", String(50), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("version", Integer, nullable=False),
)

tasks = Table(  # the issuer's half of each task: written from task-{id} only
    "tasks", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("list_id", String(120), nullable=False),
    Column("month", String(7), nullable=False),
    Column("issuer_department", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("responsible_department", String(50), nullable=False),
    Column("org_unit_code", String(12)),
    Column("assignee", String(200)),
    Column("metric", String(100), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("target_value", Float, nullable=False),
    Column("complete_when_target_reached", Boolean, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("extensions", Integer, nullable=False),
    Column("cancelled_on", Date),
    Column("cancel_reason", Text),
    Column("issue_version", Integer, nullable=False),
    Index("ix_tasks_month_department", "month", "responsible_department"),
    Index("ix_tasks_deadline", "deadline"),
)

task_work = Table(  # the responsible department's half: written from taskwork-{id} only
    "task_work", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("value_reached", Float, nullable=False),
    Column("last_reported_on", Date),
    Column("completed_on", Date),
    Column("completed_how", String(20)),
    Column("on_time", Boolean),
    Column("work_version", Integer, nullable=False),
)

templates = Table(
    "templates", metadata,
    Column("template_id", String(80), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("current_version", Integer),
    Column("draft_version", Integer),
    Column("items", Integer, nullable=False),
    Column("published_on", Date),
    Column("version", Integer, nullable=False),
)

highlights = Table(  # the submitting department's half: written from highlight-{id} only
    "highlights", metadata,
    Column("highlight_id", String(36), primary_key=True),
    Column("department", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("submission_version", Integer, nullable=False),
)

highlight_reviews = Table(  # the issuer's half: written from highlightreview-{id} only
    "highlight_reviews", metadata,
    Column("highlight_id", String(36), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("reject_reason", Text),
    Column("approved_on", Date),
    Column("featured_on", Date),
    Column("review_version", Integer, nullable=False),
)

publicity = Table(
    "publicity", metadata,
    Column("item_id", String(36), primary_key=True),
    Column("department", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("published_on", Date, nullable=False),
    Column("highlight_id", String(36)),
    Column("url", String(500)),
    Column("withdrawn", Boolean, nullable=False),
    Column("withdraw_reason", Text),
    Column("version", Integer, nullable=False),
)
