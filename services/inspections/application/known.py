"""Reads of what this service has learned from other services' events, used while deciding a command."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import (
    known_departments,
    known_org_units,
    known_person_years,
    known_persons,
    known_staff,
    known_templates,
)
from services.inspections.domain.templates import KnownTemplate, TemplateKey, require_template
from shared.catalogue.worklists import TemplateItem
from shared.errors import InvalidInput


def _template(row: Any) -> KnownTemplate:
    items = tuple(TemplateItem.model_validate(item) for item in json.loads(row.items))
    return KnownTemplate(row.template_id, row.version, items)


async def template(conn: AsyncConnection, template_id: str, version: int) -> KnownTemplate:
    """A published template version; 422 saying this service has not heard of it otherwise."""
    rows = (await conn.execute(select(known_templates).where(known_templates.c.template_id == template_id))).all()
    known: dict[TemplateKey, KnownTemplate] = {(r.template_id, r.version): _template(r) for r in rows}
    return require_template(known, template_id, version)


async def template_titles(conn: AsyncConnection) -> list[Row[Any]]:
    """Every known template version (without items), newest version first within a template."""
    query = select(known_templates).order_by(known_templates.c.template_id, known_templates.c.version.desc())
    return list((await conn.execute(query)).all())


async def staff_ids(conn: AsyncConnection) -> set[str]:
    """Every member of staff the registry has enrolled."""
    return set((await conn.execute(select(known_staff.c.staff_id))).scalars())


async def department_codes(conn: AsyncConnection) -> set[str]:
    """Every department (lead unit, responsible unit) the registry has registered."""
    return set((await conn.execute(select(known_departments.c.code))).scalars())


async def township_codes(conn: AsyncConnection) -> set[str]:
    """Every township (乡镇/街道) the registry has established."""
    query = select(known_org_units.c.code).where(known_org_units.c.level == "township")
    return set((await conn.execute(query)).scalars())


async def township_name(conn: AsyncConnection, code: str, *, field: str) -> str:
    """The name of a known township; 422 if the registry has not published it."""
    row = (await conn.execute(select(known_org_units).where(known_org_units.c.code == code))).first()
    if row is None or row.level != "township":
        raise InvalidInput(f"{code} is not a township known to the inspections service "
                           "(it learns org units from the registry's events)", field=field)
    return str(row.name)


async def department_target(conn: AsyncConnection, code: str) -> tuple[str, str | None]:
    """A lead unit's name and the township it belongs to (if its org unit lies in one)."""
    row = (await conn.execute(select(known_departments).where(known_departments.c.code == code))).first()
    if row is None:
        raise InvalidInput(f"{code!r} is not a department known to the inspections service "
                           "(it learns departments from the registry's events)", field="target_code")
    township: str | None = None
    if row.org_unit_code:
        unit = (await conn.execute(select(known_org_units).where(known_org_units.c.code == row.org_unit_code))).first()
        if unit is not None and unit.level == "township":
            township = unit.code
        elif unit is not None and unit.level == "village":
            township = unit.parent_code
    return str(row.name), township


def _focus_query(township_code: str) -> Any:
    return select(known_persons.c.person_id).where(
        known_persons.c.township_code == township_code, known_persons.c.active,
        or_(known_persons.c.severe, known_persons.c.hardship))


async def focus_person_ids(conn: AsyncConnection, township_code: str | None) -> set[str]:
    """Active severe or hardship persons of a township (opaque ids): whom a focus check may concern."""
    if township_code is None:
        return set()
    return set((await conn.execute(_focus_query(township_code))).scalars())


async def focus_persons(conn: AsyncConnection, township_code: str, year: int) -> list[dict[str, Any]]:
    """The focus persons of a township with what the registry's events say of them this year."""
    years = known_person_years
    query = (
        select(known_persons, years.c.visited, years.c.planned)
        .select_from(known_persons.outerjoin(
            years, (years.c.person_id == known_persons.c.person_id) & (years.c.year == year)))
        .where(known_persons.c.person_id.in_(_focus_query(township_code)))
        .order_by(known_persons.c.village_code, known_persons.c.person_id)
    )
    return [{"person_id": r.person_id, "village_code": r.village_code, "severe": r.severe,
             "hardship": r.hardship, "registry_says": {"visited_this_year": bool(r.visited),
                                                       "has_plan": bool(r.planned)}}
            for r in await conn.execute(query)]
