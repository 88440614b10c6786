"""Read side of the registry: persons with personal data masked or shown by role and scope."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import (
    departments,
    org_units,
    person_keys,
    persons,
    resident_index,
    staff,
)
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookup_rows import PLAN
from services.registry.domain.certificate import mask_certificate, mask_name
from services.registry.domain.plan import plan_stream_id
from shared.auth import Principal, Role
from shared.errors import NotFound


def may_see_personal_data(principal: Principal, township_code: str) -> bool:
    """Federation admins see personal data everywhere; township officers in their own township."""
    if principal.has(Role.FEDERATION_ADMIN):
        return True
    return principal.has(Role.TOWNSHIP_OFFICER) and principal.township_code == township_code


def _personal(deps: RegistryDeps, principal: Principal, row: Any, key: bytes | None) -> dict[str, Any]:
    if row.erased or key is None:
        return {"certificate_number": None, "name": None, "address": None, "personal_data": "erased"}
    opened = deps.vault.open(key, row.person_id, json.loads(row.sealed)) or {}
    if may_see_personal_data(principal, row.township_code):
        return {"certificate_number": opened.get("certificate_number"), "name": opened.get("name"),
                "address": opened.get("address"), "personal_data": "clear"}
    return {"certificate_number": mask_certificate(opened.get("certificate_number", "")),
            "name": mask_name(opened.get("name", "")), "address": None, "personal_data": "masked"}


def _person_json(deps: RegistryDeps, principal: Principal, row: Any, key: bytes | None) -> dict[str, Any]:
    return {
        "person_id": row.person_id, "version": row.version, "township_code": row.township_code,
        "village_code": row.village_code, "category": row.category, "grade": row.grade, "severe": row.severe,
        "hardship": [h for h in row.hardship.split(",") if h], "sex": row.sex, "birth_year": row.birth_year,
        "active": row.active, "registered_on": row.registered_on,
        **_personal(deps, principal, row, key),
    }


_PERSON_QUERY = select(persons, person_keys.c.wrapped_key).join(
    person_keys, person_keys.c.person_id == persons.c.person_id
)


async def get_person(conn: AsyncConnection, deps: RegistryDeps, principal: Principal, person_id: str) -> dict[str, Any]:
    """One person, personal data shown as the caller may see it."""
    row = (await conn.execute(_PERSON_QUERY.where(persons.c.person_id == person_id))).first()
    if row is None:
        raise NotFound(f"no person {person_id}")
    return _person_json(deps, principal, row, row.wrapped_key)


async def list_persons(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, *, township_code: str | None,
    village_code: str | None, certificate_number: str | None, active: bool | None, limit: int, offset: int,
) -> list[dict[str, Any]]:
    """Persons filtered by area or found by certificate number (through its keyed hash)."""
    query = _PERSON_QUERY.order_by(persons.c.person_id).limit(limit).offset(offset)
    if township_code:
        query = query.where(persons.c.township_code == township_code)
    if village_code:
        query = query.where(persons.c.village_code == village_code)
    if active is not None:
        query = query.where(persons.c.active == active)
    if certificate_number:
        index = deps.vault.blind_index(certificate_number.strip()[:18])
        owner = select(resident_index.c.person_id).where(resident_index.c.resident_index == index)
        query = query.where(persons.c.person_id.in_(owner))
    rows = (await conn.execute(query)).all()
    return [_person_json(deps, principal, row, row.wrapped_key) for row in rows]


async def get_plan(conn: AsyncConnection, deps: RegistryDeps, person_id: str, year: int) -> dict[str, Any]:
    """A plan with its items."""
    loaded = await deps.repository.load(conn, PLAN, plan_stream_id(person_id, year),
                                        missing=f"person {person_id} has no plan for {year}")
    stream, plan = loaded.stream, loaded.state
    return {
        "plan_id": plan.plan_id, "person_id": plan.person_id, "year": plan.year, "version": stream.version,
        "township_code": plan.township_code, "village_code": plan.village_code,
        "items": [
            {"item_id": i.item_id, "kind": i.kind, "need": i.need, "description": i.description,
             "responsible_department": i.responsible_department, "due_on": i.due_on,
             "status": i.status, "delivered_on": i.delivered_on,
             "cancel_reason": i.cancel_reason}
            for i in plan.items.values()
        ],
    }


async def list_org_units(conn: AsyncConnection, parent_code: str | None) -> list[dict[str, Any]]:
    """Org units, optionally the children of one."""
    query = select(org_units).order_by(org_units.c.code)
    if parent_code:
        query = query.where(org_units.c.parent_code == parent_code)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def list_departments(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every department."""
    return [dict(r._mapping) for r in await conn.execute(select(departments).order_by(departments.c.code))]


async def list_staff(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every member of staff with roles."""
    rows = await conn.execute(select(staff).order_by(staff.c.staff_id))
    return [{**dict(r._mapping), "roles": json.loads(r.roles)} for r in rows]
