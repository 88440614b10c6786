"""Read side of the inspections service: groups, inspections with their results, the ledger, learned facts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import (
    groups,
    inspections,
    known_departments,
    known_org_units,
    known_staff,
    known_templates,
    rectifications,
)
from services.inspections.application import known, person_texts
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.lookup_rows import INSPECTION, RECTIFICATION
from services.inspections.domain.rectification import is_overdue
from shared.errors import InvalidInput, NotFound


def _group_json(row: Row[Any]) -> dict[str, Any]:
    return {"group_id": row.group_id, "version": row.version, "name": row.name, "leader": row.leader,
            "members": json.loads(row.members), "township_codes": json.loads(row.township_codes),
            "unit_codes": json.loads(row.unit_codes)}


async def list_groups(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every inspection group, in the order they were formed."""
    return [_group_json(r) for r in await conn.execute(select(groups).order_by(groups.c.group_id))]


async def get_group(conn: AsyncConnection, group_id: str) -> dict[str, Any]:
    """One group."""
    row = (await conn.execute(select(groups).where(groups.c.group_id == group_id))).first()
    if row is None:
        raise NotFound(f"no inspection group {group_id}")
    return _group_json(row)


def _inspection_row(row: Row[Any]) -> dict[str, Any]:
    return dict(row._mapping)


async def list_inspections(
    conn: AsyncConnection, *, group_id: str | None, status: str | None, township_code: str | None
) -> list[dict[str, Any]]:
    """Inspections, newest first, filtered by group, status or township."""
    query = select(inspections).order_by(inspections.c.scheduled_on.desc(), inspections.c.inspection_id)
    for column, value in (("group_id", group_id), ("status", status), ("township_code", township_code)):
        if value:
            query = query.where(inspections.c[column] == value)
    return [_inspection_row(r) for r in await conn.execute(query)]


async def get_inspection(conn: AsyncConnection, deps: InspectionsDeps, inspection_id: str) -> dict[str, Any]:
    """One inspection with its template items, results, focus checks, findings and their ledger entries."""
    loaded = await deps.repository.load(conn, INSPECTION, inspection_id)
    stream, state = loaded.stream, loaded.state
    template = await known.template(conn, state.template_id, state.template_version)
    keys = await person_texts.keys_of(conn, {*state.focus_checks, *(f.person_id for f in state.findings.values()
                                                                   if f.person_id)})

    def text(person_id: str, sealed: dict[str, str], name: str, clear: str) -> str | None:
        # Texts about a person are sealed with their key here; null once the registry erased them.
        return person_texts.opened(deps.vault, keys, person_id, f"inspection/{inspection_id}", sealed, name, clear)
    ledger = {r.finding_id: r for r in await conn.execute(
        select(rectifications.c.finding_id, rectifications.c.rectification_id, rectifications.c.number,
               rectifications.c.status).where(rectifications.c.inspection_id == inspection_id))}
    return {
        "inspection_id": state.inspection_id, "version": stream.version, "group_id": state.group_id,
        "target_kind": state.target_kind, "target_code": state.target_code, "target_name": state.target_name,
        "township_code": state.township_code, "template_id": state.template_id,
        "template_version": state.template_version, "status": state.status,
        "scheduled_on": state.scheduled_on, "started_on": state.started_on,
        "completed_on": state.completed_on, "score": state.score, "cancel_reason": state.cancel_reason,
        "items": [
            {"item_id": item.item_id, "text": item.text, "guidance": item.guidance, "weight": item.weight,
             "evidence_required": item.evidence_required,
             **({"result": r.result, "note": r.note, "evidence": list(r.evidence)}
                if (r := state.results.get(item.item_id)) else {"result": None})}
            for item in template.items
        ],
        "focus_checks": [
            {"person_id": check.person_id, "archive_complete": check.archive_complete,
             "visited_this_year": check.visited_this_year, "has_plan": check.has_plan,
             "note": text(check.person_id, dict(check.sealed), "note", check.note), "has_issue": check.has_issue}
            for check in state.focus_checks.values()
        ],
        "findings": [
            {"finding_id": f.finding_id, "source": f.source, "item_id": f.item_id, "person_id": f.person_id,
             "description": text(f.person_id or "", dict(f.sealed), "description", f.description),
             "rectification": ({"rectification_id": e.rectification_id, "number": e.number,
                                "status": e.status} if (e := ledger.get(f.finding_id)) else None)}
            for f in state.findings.values()
        ],
    }


async def focus_persons(conn: AsyncConnection, deps: InspectionsDeps, inspection_id: str) -> dict[str, Any]:
    """Whom the inspection's focus checks may concern, with what the registry says of them this year."""
    state = (await deps.repository.load(conn, INSPECTION, inspection_id)).state
    if state.township_code is None:
        return {"inspection_id": inspection_id, "township_code": None, "persons": []}
    year = (state.started_on or state.scheduled_on).year
    persons = await known.focus_persons(conn, state.township_code, year)
    keys = await person_texts.keys_of(conn, set(state.focus_checks))
    for person in persons:
        check = state.focus_checks.get(person["person_id"])
        person["checked"] = {
            "person_id": check.person_id, "archive_complete": check.archive_complete,
            "visited_this_year": check.visited_this_year, "has_plan": check.has_plan,
            # Sealed with the person's key here (None once the registry erased them).
            "note": person_texts.opened(deps.vault, keys, check.person_id, f"inspection/{inspection_id}",
                                        dict(check.sealed), "note", check.note),
        } if check else None
    return {"inspection_id": inspection_id, "township_code": state.township_code, "year": year,
            "persons": persons}


def _rectification_row(row: Row[Any], today: date) -> dict[str, Any]:
    body = dict(row._mapping)
    body["overdue"] = is_overdue(row.deadline, row.status, today)
    return body


async def list_rectifications(
    conn: AsyncConnection, deps: InspectionsDeps, *, responsible_unit: str | None, group_id: str | None,
    status: str | None, number: str | None,
) -> list[dict[str, Any]]:
    """Ledger entries in number order, filtered by unit, group, status or number."""
    query = select(rectifications).order_by(rectifications.c.number)
    for column, value in (("responsible_unit", responsible_unit), ("group_id", group_id), ("status", status),
                          ("number", number)):
        if value:
            query = query.where(rectifications.c[column] == value)
    today = deps.today()
    return [_rectification_row(r, today) for r in await conn.execute(query)]


async def get_rectification(conn: AsyncConnection, deps: InspectionsDeps, rectification_id: str) -> dict[str, Any]:
    """One ledger entry with every step of its history."""
    stream = (await deps.repository.load(conn, RECTIFICATION, rectification_id)).stream
    row = (await conn.execute(select(rectifications)
                              .where(rectifications.c.rectification_id == rectification_id))).one()
    body = _rectification_row(row, deps.today())
    body["history"] = [{"type": e.envelope.type, "version": e.envelope.stream_version, "actor": e.envelope.actor,
                        "at": e.envelope.time, "data": e.envelope.data} for e in stream.events]
    return body


async def templates(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every template version this service has learned from the checklists services."""
    return [{"template_id": r.template_id, "version": r.version, "title": r.title,
             "published_on": r.published_on, "supersedes": r.supersedes,
             "items": json.loads(r.items)} for r in await known.template_titles(conn)]


async def template(conn: AsyncConnection, template_id: str, version: int) -> dict[str, Any]:
    """One known template version."""
    row = (await conn.execute(select(known_templates).where(
        known_templates.c.template_id == template_id, known_templates.c.version == version))).first()
    if row is None:
        await known.template(conn, template_id, version)  # raises the explanatory 422
        raise NotFound(f"no template {template_id} v{version}")
    return {"template_id": row.template_id, "version": row.version, "title": row.title,
            "published_on": row.published_on, "supersedes": row.supersedes,
            "items": json.loads(row.items)}


async def directory(conn: AsyncConnection, what: str) -> list[dict[str, Any]]:
    """Staff, departments or townships as learned from the registry's events."""
    if what == "staff":
        rows = await conn.execute(select(known_staff).order_by(known_staff.c.staff_id))
        return [{**dict(r._mapping), "roles": json.loads(r.roles)} for r in rows]
    if what == "departments":
        return [dict(r._mapping) for r in await conn.execute(select(known_departments)
                                                             .order_by(known_departments.c.code))]
    if what == "townships":
        query = select(known_org_units).where(known_org_units.c.level == "township").order_by(known_org_units.c.code)
        return [dict(r._mapping) for r in await conn.execute(query)]
    raise InvalidInput(f"unknown directory {what!r}: staff, departments or townships", field="what")
