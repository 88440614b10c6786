"""Use cases on the federation's service catalogue (federation admins change it; everyone reads it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import service_catalogue
from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookup_rows import SERVICE
from services.registry.application.lookups import department_codes
from services.registry.domain import service_catalogue as domain
from services.registry.domain.default_services import DEFAULT_SERVICES, FALLBACK_DEPARTMENT
from shared.auth import Principal, Role
from shared.eventstore.unit_of_work import UnitOfWork


def _values(cmd: c.ServiceFields) -> domain.ServiceValues:
    return domain.ServiceValues(cmd.name_zh, cmd.name_en, cmd.need, cmd.part, cmd.responsible_department,
                                cmd.default_days)


def _written(code: str, version: int) -> dict[str, object]:
    return {"code": code, "version": version}


async def add_service(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, cmd: c.AddService
                      ) -> dict[str, object]:
    """Enter a service into the catalogue."""
    principal.require(Role.FEDERATION_ADMIN, action="adding a catalogue service")
    entry = await deps.repository.find(uow, SERVICE, cmd.code)
    events = domain.add(entry.state, cmd.code, _values(cmd), known_departments=await department_codes(uow))
    saved = await deps.repository.save(uow, SERVICE, entry, events, deps.context(principal), expected_version=0)
    return _written(cmd.code, saved.version)


async def change_service(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, code: str,
                         cmd: c.ChangeService) -> dict[str, object]:
    """Change an entry's names, need, part, department or default days."""
    principal.require(Role.FEDERATION_ADMIN, action="changing a catalogue service")
    entry = await deps.repository.load(uow, SERVICE, code, missing=f"no service {code} in the catalogue")
    events = domain.change(entry.state, _values(cmd), known_departments=await department_codes(uow))
    saved = await deps.repository.save(uow, SERVICE, entry, events, deps.context(principal),
                                       expected_version=cmd.expected_version)
    return _written(code, saved.version)


async def retire_service(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, code: str,
                         cmd: c.RetireService) -> dict[str, object]:
    """Withdraw an entry: it is no longer proposed."""
    principal.require(Role.FEDERATION_ADMIN, action="retiring a catalogue service")
    entry = await deps.repository.load(uow, SERVICE, code, missing=f"no service {code} in the catalogue")
    saved = await deps.repository.save(uow, SERVICE, entry, domain.retire(entry.state, reason=cmd.reason),
                                       deps.context(principal), expected_version=cmd.expected_version)
    return _written(code, saved.version)


async def seed_defaults(uow: UnitOfWork, deps: RegistryDeps, principal: Principal) -> dict[str, object]:
    """Enter every default service not in the catalogue yet (a retired one stays retired).

    A default whose department is not registered goes to the federation's department, which can
    change it; if the federation itself is not registered, nothing is entered (422).
    """
    principal.require(Role.FEDERATION_ADMIN, action="seeding the service catalogue")
    known = await department_codes(uow)
    added: list[str] = []
    for code, values in DEFAULT_SERVICES.items():
        entry = await deps.repository.find(uow, SERVICE, code)
        if entry.state is not None:
            continue
        if values.responsible_department not in known:
            values = domain.ServiceValues(**{**values.__dict__, "responsible_department": FALLBACK_DEPARTMENT})
        events = domain.add(None, code, values, known_departments=known)
        await deps.repository.save(uow, SERVICE, entry, events, deps.context(principal), expected_version=0)
        added.append(code)
    return {"added": added, "already_there": [code for code in DEFAULT_SERVICES if code not in added]}


def _service(row: Any) -> domain.Service:
    return domain.Service(row.code, row.name_zh, row.name_en, row.need, row.part, row.responsible_department,
                          row.default_days, row.retired)


async def catalogue(reader: AsyncConnection | UnitOfWork) -> dict[str, domain.Service]:
    """Every entry, retired ones included, by code."""
    rows = await reader.execute(select(service_catalogue).order_by(service_catalogue.c.code))
    return {row.code: _service(row) for row in rows}


async def list_services(conn: AsyncConnection, *, retired: bool) -> list[dict[str, Any]]:
    """The catalogue, ordered by part, need and code (retired entries only when asked)."""
    query = select(service_catalogue).order_by(service_catalogue.c.part.desc(), service_catalogue.c.need,
                                               service_catalogue.c.code)
    if not retired:
        query = query.where(service_catalogue.c.retired.is_(False))
    return [dict(r._mapping) for r in await conn.execute(query)]
