"""Read side of the registry: persons with personal data masked or shown by role and scope."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, TypeVar

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
from services.registry.application import access
from services.registry.application.access import Scope
from services.registry.application.access_log import Access, What
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookup_rows import PLAN
from services.registry.domain.certificate import mask_certificate, mask_name
from services.registry.domain.plan import PlanItem, is_overdue, plan_stream_id
from shared.auth import Principal
from shared.errors import NotFound

T = TypeVar("T")


Shown = tuple[T, list[Access]]
"""A read's answer and the accesses to personal data in clear that it made (for the access log)."""


def _personal(deps: RegistryDeps, row: Any, key: bytes | None, clear: bool) -> dict[str, Any]:
    if row.erased or key is None:
        return {"certificate_number": None, "name": None, "address": None, "personal_data": "erased"}
    opened = deps.vault.open(key, row.person_id, json.loads(row.sealed)) or {}
    if clear:
        return {"certificate_number": opened.get("certificate_number"), "name": opened.get("name"),
                "address": opened.get("address"), "personal_data": "clear"}
    return {"certificate_number": mask_certificate(opened.get("certificate_number", "")),
            "name": mask_name(opened.get("name", "")), "address": None, "personal_data": "masked"}


def _person_json(deps: RegistryDeps, row: Any, clear: bool) -> dict[str, Any]:
    return {
        "person_id": row.person_id, "version": row.version, "township_code": row.township_code,
        "village_code": row.village_code, "category": row.category, "grade": row.grade, "severe": row.severe,
        "hardship": [h for h in row.hardship.split(",") if h], "sex": row.sex, "birth_year": row.birth_year,
        "active": row.active, "registered_on": row.registered_on,
        **_personal(deps, row, row.wrapped_key, clear),
    }


def _in_clear(scope: Scope, row: Any) -> bool:
    """Whether a row is shown in clear (an erased person has nothing left to show)."""
    return scope in (Scope.DISTRICT, Scope.TOWNSHIP) and not row.erased and row.wrapped_key is not None


_PERSON_QUERY = select(persons, person_keys.c.wrapped_key).join(
    person_keys, person_keys.c.person_id == persons.c.person_id
)


async def get_person(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, person_id: str
) -> Shown[dict[str, Any]]:
    """One person, personal data shown as the caller may see it (see :mod:`access`)."""
    access.require(access.PERSONS, principal)
    row = (await conn.execute(_PERSON_QUERY.where(persons.c.person_id == person_id))).first()
    if row is None:
        raise NotFound(f"no person {person_id}")
    scope = access.require_in_scope(access.PERSONS, principal, row.township_code)
    clear = _in_clear(scope, row)
    return _person_json(deps, row, clear), [Access("details", person_id)] if clear else []


async def list_persons(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, *, township_code: str | None,
    village_code: str | None, certificate_number: str | None, active: bool | None, limit: int, offset: int,
) -> Shown[list[dict[str, Any]]]:
    """Persons filtered by area or found by certificate number (through its keyed hash).

    A township officer lists their own township only; a lookup by certificate number is for the
    roles that register persons, and each one is logged, found or not.
    """
    read = access.LOOKUP if certificate_number else access.PERSONS
    scope = access.require(read, principal)
    if scope is Scope.TOWNSHIP:
        if township_code and township_code != principal.township_code:
            access.require_in_scope(read, principal, township_code)
        township_code = principal.township_code
    query = _PERSON_QUERY.order_by(persons.c.person_id).limit(limit).offset(offset)
    if township_code:
        query = query.where(persons.c.township_code == township_code)
    if village_code:
        query = query.where(persons.c.village_code == village_code)
    if active is not None:
        query = query.where(persons.c.active == active)
    if certificate_number:
        deps.lookups.hit(principal.staff_id)
        index = deps.vault.blind_index(certificate_number.strip()[:18])
        owner = select(resident_index.c.person_id).where(resident_index.c.resident_index == index)
        query = query.where(persons.c.person_id.in_(owner))
    rows = (await conn.execute(query)).all()
    shown = [(_person_json(deps, row, _in_clear(scope, row)), _in_clear(scope, row)) for row in rows]
    what: What = "lookup" if certificate_number else "list"
    accesses = [Access(what, person["person_id"]) for person, clear in shown if clear]
    if certificate_number and not accesses:
        accesses = [Access("lookup", None)]  # a lookup that found no one is logged too
    return [person for person, _clear in shown], accesses


def _item_json(item: PlanItem, texts: dict[str, str] | None, today: date) -> dict[str, Any]:
    shown = {**item.legacy, **(texts or {})} if texts is not None else {}
    return {"item_id": item.item_id, "kind": item.kind, "need": item.need,
            "description": shown.get("description"), "responsible_department": item.responsible_department,
            "due_on": item.due_on, "status": item.status, "overdue": is_overdue(item, today),
            "delivered_on": item.delivered_on, "note": shown.get("note"), "cancel_reason": shown.get("cancel_reason"),
            "service_code": item.service_code, "not_delivered_reason": item.not_delivered_reason,
            "closed_on": item.closed_on}


async def get_plan(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, person_id: str, year: int
) -> Shown[dict[str, Any]]:
    """A plan with its items; their texts in clear only within the caller's scope, else ``null``."""
    access.require(access.PLANS, principal)
    loaded = await deps.repository.load(conn, PLAN, plan_stream_id(person_id, year),
                                        missing=f"person {person_id} has no plan for {year}")
    stream, plan = loaded.stream, loaded.state
    scope = access.require_in_scope(access.PLANS, principal, plan.township_code)
    key = (await conn.execute(select(person_keys.c.wrapped_key)
                              .where(person_keys.c.person_id == person_id))).scalar_one_or_none()
    items, clear_any = [], False
    for item in plan.items.values():
        clear = key is not None and (scope in (Scope.DISTRICT, Scope.TOWNSHIP) or (
            scope is Scope.OWN_ITEMS and item.responsible_department == principal.department))
        texts = deps.vault.open(bytes(key), person_id, dict(item.sealed), scope=f"item/{item.item_id}") \
            if clear and key is not None else None
        clear_any = clear_any or clear
        items.append(_item_json(item, texts, deps.today()))
    answer = {
        "plan_id": plan.plan_id, "person_id": plan.person_id, "year": plan.year, "version": stream.version,
        "township_code": plan.township_code, "village_code": plan.village_code,
        "personal_data": "erased" if key is None else "clear" if clear_any else "masked", "items": items,
    }
    return answer, [Access("plan", person_id)] if clear_any else []


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
