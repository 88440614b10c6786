"""Every projection the reporting service maintains (``services/reporting/projections/``).

``shared.messaging.feeds.attach_projections`` feeds them: one durable consumer per source stream
(``reporting-from-registry``, ``-checklists``, ``-inspections``), each read model with its own
checkpoint (``reporting-<name>``), so that each can be rebuilt or checked on its own.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from services.reporting.projections import audit as audit_models
from services.reporting.projections import certificates as certificate_models
from services.reporting.projections import coverage, reminder_staff
from services.reporting.projections import highlights as highlight_models
from services.reporting.projections import inspection_results as inspection_models
from services.reporting.projections import plan_items as plan_item_models
from services.reporting.projections import rectifications as ledger_models
from services.reporting.projections import rehabilitation as rehabilitation_models
from services.reporting.projections import tasks as task_models
from services.reporting.projections import week as week_models
from services.reporting.reminders import store as reminder_store
from shared.messaging.feeds import ProjectionSet
from shared.staff import STAFF_DIRECTORY

PROJECTIONS = ProjectionSet(prefix="reporting", projections=(
    coverage.COVERAGE,
    ledger_models.LEDGER, ledger_models.LEDGER_UNITS,
    inspection_models.INSPECTIONS, inspection_models.INSPECTION_TEMPLATES,
    task_models.TASKS, highlight_models.HIGHLIGHTS,
    plan_item_models.PLAN_ITEMS, *audit_models.AUDIT, certificate_models.CERTIFICATES, week_models.WEEK,
    rehabilitation_models.REHABILITATION,
    STAFF_DIRECTORY,  # who may act: checked on every token (shared.staff)
    reminder_staff.REMINDER_STAFF,  # who is reminded, and where (services.reporting.reminders)
))
"""Every read model, in the order ``rebuild --help`` lists them."""

SCHEMA: tuple[MetaData, ...] = (
    coverage.metadata, ledger_models.metadata, inspection_models.metadata,
    task_models.metadata, highlight_models.metadata, plan_item_models.metadata, audit_models.metadata,
    certificate_models.metadata, week_models.metadata, rehabilitation_models.metadata, reminder_staff.metadata,
    reminder_store.metadata,  # not a read model: what was sent survives a rebuild (reminders/store.py)
)
"""The tables of every read model, and the record of reminders sent."""
