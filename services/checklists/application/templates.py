"""Use cases on inspection checklist templates (检查指导清单): drafts and immutable published versions.

Written by the issuer's instance only. A published version is announced with its full item list
(``template.version_published``), so the inspections service never needs to call us.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import templates
from services.checklists.application import commands as c
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.tasks import append, unchanged
from services.checklists.domain import template as domain
from shared.aggregate import fold
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import NotFound
from shared.eventstore import Stream
from shared.projection import Upsert, apply_sql


def _specs(items: list[c.TemplateItemIn]) -> list[domain.ItemSpec]:
    return [domain.ItemSpec(i.item_id, i.text, i.guidance, i.weight, i.evidence_required) for i in items]


async def load_template(
    conn: AsyncConnection, deps: ChecklistsDeps, template_id: str
) -> tuple[Stream, domain.Template | None]:
    """A template's stream and state (None if it does not exist yet)."""
    stream = await deps.store.load(conn, domain.template_stream_id(template_id))
    return stream, fold(domain.evolve, stream.payloads)


async def _commit(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, stream: Stream,
    before: domain.Template | None, events: list[EventPayload], expected_version: int | None,
) -> dict[str, Any]:
    version = await append(conn, deps, principal, stream, events, expected_version)
    state = fold(domain.evolve, [*stream.payloads, *events])
    assert state is not None
    current = state.current
    await apply_sql(conn, [Upsert(templates, {"template_id": state.template_id}, {
        "title": current.title if current else state.draft.title if state.draft else "",
        "current_version": current.version if current else None,
        "draft_version": state.draft.version if state.draft else None,
        "items": len(current.items) if current else len(state.draft.items) if state.draft else 0,
        "published_on": current.published_on if current else None, "version": version,
    })])
    return template_json(state, version)


async def save_draft(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, template_id: str, cmd: c.SaveTemplateDraft
) -> dict[str, Any]:
    """Save (or replace) the working copy of the template's next version."""
    deps.require_issuer(principal, "editing an inspection template")
    stream, template = await load_template(conn, deps, template_id)
    unchanged(stream, cmd.expected_version)
    events = domain.save_draft(template, template_id=template_id, title=cmd.title, items=_specs(cmd.items))
    return await _commit(conn, deps, principal, stream, template, events, cmd.expected_version)


async def publish_version(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, template_id: str,
    cmd: c.PublishTemplateVersion,
) -> dict[str, Any]:
    """Publish a new version with its full item list; the previous one stays as it was."""
    deps.require_issuer(principal, "publishing an inspection template")
    stream, template = await load_template(conn, deps, template_id)
    unchanged(stream, cmd.expected_version)
    today = deps.today()
    events = domain.publish_version(template, template_id=template_id, title=cmd.title, items=_specs(cmd.items),
                                    published_on=cmd.published_on or today, today=today)
    return await _commit(conn, deps, principal, stream, template, events, cmd.expected_version)


async def publish_draft(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, template_id: str, cmd: c.PublishDraft
) -> dict[str, Any]:
    """Publish the saved draft as the next version."""
    deps.require_issuer(principal, "publishing an inspection template")
    stream, template = await load_template(conn, deps, template_id)
    unchanged(stream, cmd.expected_version)
    today = deps.today()
    events = domain.publish_draft(template, published_on=cmd.published_on or today, today=today)
    return await _commit(conn, deps, principal, stream, template, events, cmd.expected_version)


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
    stream, template = await load_template(conn, deps, template_id)
    if template is None:
        raise NotFound(f"no template {template_id}")
    return template_json(template, stream.version)


async def list_templates(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every template's summary."""
    rows = await conn.execute(select(templates).order_by(templates.c.template_id))
    return [{**dict(r._mapping), "published_on": r.published_on.isoformat() if r.published_on else None}
            for r in rows]
