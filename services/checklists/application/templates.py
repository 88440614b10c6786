"""Use cases on inspection checklist templates (检查指导清单): drafts and immutable published versions.

Written by the issuer's instance only. A published version is announced with its full item list
(``template.version_published``), so the inspections service never needs to call us.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import templates
from services.checklists.application import access
from services.checklists.application import commands as c
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.lookup_rows import TEMPLATE
from services.checklists.domain import template as domain
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.eventstore.repository import Loaded
from shared.eventstore.unit_of_work import UnitOfWork


async def _save(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, template: Loaded[domain.Template | None],
    events: list[EventPayload], expected_version: int | None,
) -> dict[str, Any]:
    saved = await deps.repository.save(uow, TEMPLATE, template, events, deps.context(principal),
                                       expected_version=expected_version)
    return template_json(saved.state, saved.version)


async def _editable(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, template_id: str, expected_version: int | None,
    action: str,
) -> Loaded[domain.Template | None]:
    """The template (perhaps not created yet) for the issuer to change; 409 first if the caller is stale."""
    deps.require_issuer(principal, access.TEMPLATES, action)
    template = await deps.repository.find(uow, TEMPLATE, template_id)
    template.stream.check_version(expected_version)
    return template


async def save_draft(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, template_id: str, cmd: c.SaveTemplateDraft
) -> dict[str, Any]:
    """Save (or replace) the working copy of the template's next version."""
    template = await _editable(uow, deps, principal, template_id, cmd.expected_version,
                               "editing an inspection template")
    events = domain.save_draft(template.state, template_id=template_id, title=cmd.title, items=cmd.items)
    return await _save(uow, deps, principal, template, events, cmd.expected_version)


async def publish_version(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, template_id: str,
    cmd: c.PublishTemplateVersion,
) -> dict[str, Any]:
    """Publish a new version with its full item list; the previous one stays as it was."""
    template = await _editable(uow, deps, principal, template_id, cmd.expected_version,
                               "publishing an inspection template")
    today = deps.today()
    events = domain.publish_version(template.state, template_id=template_id, title=cmd.title,
                                    items=cmd.items, published_on=cmd.published_on or today, today=today)
    return await _save(uow, deps, principal, template, events, cmd.expected_version)


async def publish_draft(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, template_id: str, cmd: c.PublishDraft
) -> dict[str, Any]:
    """Publish the saved draft as the next version."""
    template = await _editable(uow, deps, principal, template_id, cmd.expected_version,
                               "publishing an inspection template")
    today = deps.today()
    events = domain.publish_draft(template.state, published_on=cmd.published_on or today, today=today)
    return await _save(uow, deps, principal, template, events, cmd.expected_version)


def _items(items: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [i.model_dump() for i in items]


def template_json(state: domain.Template, version: int) -> dict[str, Any]:
    """A template with its draft and every published version."""
    draft = state.draft
    return {
        "template_id": state.template_id, "status": state.status, "version": version,
        "current_version": state.current.version if state.current else None,
        "draft": {"version": draft.version, "title": draft.title, "items": _items(draft.items)} if draft else None,
        "versions": [{"version": v.version, "title": v.title, "published_on": v.published_on.isoformat(),
                      "items": _items(v.items)} for v in state.versions],
    }


async def get_template(conn: AsyncConnection, deps: ChecklistsDeps, template_id: str) -> dict[str, Any]:
    """One template; 404 if there is none."""
    template = await deps.repository.load(conn, TEMPLATE, template_id)
    return template_json(template.state, template.version)


async def list_templates(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every template's summary."""
    rows = await conn.execute(select(templates).order_by(templates.c.template_id))
    return [{**dict(r._mapping), "published_on": r.published_on.isoformat() if r.published_on else None}
            for r in rows]
