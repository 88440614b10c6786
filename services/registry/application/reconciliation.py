"""Reconciling a later extract with the register, and a deaths list with the persons it names.

Reads only, except :func:`confirm_deaths`: a deaths list *proposes* deregistrations, and an
officer confirms each one (the person is deregistered as died and their certificate cancelled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from services.registry.adapters import spreadsheet
from services.registry.application.deps import WRITERS, RegistryDeps
from services.registry.application.extract_analysis import Reader, analyse, current_persons
from services.registry.application.lookup_rows import CERTIFICATE, PERSON
from services.registry.application.lookups import active_persons_by_index, registered_persons
from services.registry.domain import certificate_life as life
from services.registry.domain import person as person_domain
from services.registry.domain.certificate import mask_certificate, mask_name
from services.registry.domain.extract_row import Problem, resident_of
from shared.auth import Principal, Role
from shared.commands import Command
from shared.errors import InvalidInput, QingdanError
from shared.eventstore.unit_of_work import UnitOfWork

RunBuffered = Callable[[Callable[[UnitOfWork], Awaitable[int]]], Awaitable[int]]
"""Runs one command through the executor's buffered path (the route passes ``shared.http.commands.execute``)."""


async def reconcile(reader: Reader, deps: RegistryDeps, principal: Principal, content: bytes) -> dict[str, Any]:
    """In the file but not registered; registered (active, in the file's townships) but not in the
    file; registered in both with fields that differ; rows that could not be checked."""
    principal.require(Role.FEDERATION_ADMIN, action="reconciling a register extract")
    reports = await analyse(reader, deps, content)
    townships = {r.checked.township_code for r in reports if r.checked is not None}
    in_file = {r.person_id for r in reports if r.person_id is not None}
    active = await active_persons_by_index(reader, townships)
    missing = sorted(set(active.values()) - in_file)
    current = await current_persons(reader, deps, missing)
    return {
        "townships": sorted(townships),
        "not_registered": [r.as_json() for r in reports if r.status == "new"],
        "not_in_file": [{"person_id": p, "township_code": current[p].township_code,
                         "village_code": current[p].village_code} for p in missing if p in current],
        "differences": [r.as_json() for r in reports if r.status in ("changed", "deregistered")],
        "invalid": [r.as_json() for r in reports if r.status == "invalid"],
    }


async def propose_deaths(reader: Reader, deps: RegistryDeps, principal: Principal, content: bytes
                         ) -> list[dict[str, Any]]:
    """Each row of a deaths list: the active person it names (a proposed deregistration), or why not."""
    principal.require(*WRITERS, action="checking a deaths list")
    sheet = spreadsheet.read_sheet(content, required=("died_on",))
    today = deps.today()
    rows: list[dict[str, Any]] = []
    indexes: dict[int, str] = {}
    for line, row in sheet.rows:
        shown = {"line": line, "certificate_number": mask_certificate(row.get("certificate_number", "")
                                                                      or row.get("resident_id", "")),
                 "name": mask_name(row.get("name", "")), "person_id": None, "died_on": None, "problems": []}
        resident = resident_of(row, today=today)
        died_on = spreadsheet.parse_date(row.get("died_on", ""))
        problems = [resident] if isinstance(resident, Problem) else []
        if died_on is None or died_on > today:
            problems.append(Problem("died_on", f"date of death {row.get('died_on')!r} is not a past date"))
        if problems:
            rows.append({**shown, "status": "invalid",
                         "problems": [{"field": p.field, "message": p.message} for p in problems]})
            continue
        assert isinstance(resident, str)
        indexes[line] = deps.vault.blind_index(resident)
        rows.append({**shown, "status": "not_registered", "died_on": died_on})
    owners = await registered_persons(reader, indexes.values())
    current = await current_persons(reader, deps, sorted(set(owners.values())))
    for found in rows:
        person_id = owners.get(indexes.get(int(found["line"]), ""))
        if person_id is None or person_id not in current:
            continue
        now = current[person_id]
        found.update(person_id=person_id, township_code=now.township_code,
                     status="proposed" if now.active else "already_deregistered")
        if now.active and not principal.has(Role.FEDERATION_ADMIN) and principal.township_code != now.township_code:
            found["status"] = "outside_your_township"
    return rows


class ConfirmedDeath(BaseModel):
    """One proposed deregistration the officer confirms."""

    person_id: str
    died_on: date
    expected_version: int | None = Field(default=None, ge=0)


class ConfirmDeaths(Command):
    deaths: list[ConfirmedDeath] = Field(min_length=1, max_length=10_000)


async def confirm_death(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, death: ConfirmedDeath) -> int:
    """Deregister one person as died and cancel their certificate; the person's new version."""
    principal.require(*WRITERS, action="confirming a death")
    if death.died_on > deps.today():
        raise InvalidInput(f"date of death {death.died_on} is in the future", field="died_on")
    person = await deps.repository.load(uow, PERSON, death.person_id)
    principal.require_township(person.state.township_code, action="confirming a death")
    ctx = deps.context(principal)
    saved = await deps.repository.save(
        uow, PERSON, person, person_domain.deregister(person.state, reason="died", effective_on=death.died_on),
        ctx, expected_version=death.expected_version)
    certificate = await deps.repository.find(uow, CERTIFICATE, death.person_id)
    if certificate.state is not None and certificate.state.cancelled_on is None:
        events = life.cancel(certificate.state, reason="died", cancelled_on=death.died_on, today=deps.today())
        await deps.repository.save(uow, CERTIFICATE, certificate, events, ctx, expected_version=None)
    return saved.version


async def confirm_deaths(run: RunBuffered, deps: RegistryDeps, principal: Principal, cmd: ConfirmDeaths
                         ) -> list[dict[str, Any]]:
    """Confirm each death in its own command: one that fails (changed meanwhile, outside scope) does
    not stop the others, and says why."""
    principal.require(*WRITERS, action="confirming deaths")

    async def one(death: ConfirmedDeath) -> dict[str, Any]:
        try:
            version = await run(lambda uow: confirm_death(uow, deps, principal, death))
        except QingdanError as exc:
            return {"person_id": death.person_id, "status": "refused", "error": exc.code,
                    "field": exc.field, "message": exc.message}
        return {"person_id": death.person_id, "status": "deregistered", "version": version}

    return list(await asyncio.gather(*(one(d) for d in cmd.deaths)))
