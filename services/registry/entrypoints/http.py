"""HTTP routes of the registry: translate requests into use cases, nothing more."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from services.registry.application import access_log, organisation, persons, plans, views, visits
from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from services.registry.entrypoints import schemas as s
from shared.auth import CurrentPrincipal, Principal
from shared.errors import Forbidden, NotFound
from shared.http.bounds import Offset
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter()
T = TypeVar("T")

_registry_deps = service_deps(RegistryDeps)
Deps = Annotated[RegistryDeps, Depends(_registry_deps)]


async def _logged(request: Request, who: Principal, shown: views.Shown[T]) -> T:
    """Record the read's accesses to personal data in clear, then answer: no data without its record."""
    answer, accesses = shown
    if accesses:
        route = request.scope.get("route")
        name = f"{request.method} {getattr(route, 'path', request.url.path)}"
        await execute(request, lambda uow: access_log.record(uow, who, name, accesses), buffered=True)
    return answer


class TokenRequest(BaseModel):
    staff_id: str


@router.post("/auth/dev-token", tags=["auth"], summary="Issue a token for a staff member (development only)")
async def dev_token(body: TokenRequest, request: Request, conn: ReadConnection) -> s.DevToken:
    if not request.app.state.dev_tokens:
        raise Forbidden("development tokens are disabled; use `python -m services.registry token`")
    principal = await organisation.staff_principal(conn, body.staff_id)
    if principal is None:
        raise NotFound(f"no active staff {body.staff_id}")
    # Development only: long enough for a demo, so the dashboards need no refresh.
    token = request.app.state.tokens.issue(principal, ttl=request.app.state.dev_token_ttl)
    return s.DevToken(access_token=token, token_type="bearer",
                      roles=sorted(principal.roles), department=principal.department)


@router.post("/org-units", status_code=201, tags=["organisation"])
async def establish_org_unit(
    body: c.EstablishOrgUnit, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.OrgUnitWritten:
    return s.OrgUnitWritten.model_validate(await execute(
        request, lambda uow: organisation.establish_org_unit(uow, deps, who, body), buffered=True))


@router.get("/org-units", tags=["organisation"])
async def list_org_units(
    _who: CurrentPrincipal, conn: ReadConnection, parent_code: str | None = None
) -> list[s.OrgUnit]:
    return [s.OrgUnit.model_validate(u) for u in await views.list_org_units(conn, parent_code)]


@router.post("/departments", status_code=201, tags=["organisation"])
async def register_department(
    body: c.RegisterDepartment, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.OrgUnitWritten:
    return s.OrgUnitWritten.model_validate(await execute(
        request, lambda uow: organisation.register_department(uow, deps, who, body), buffered=True))


@router.get("/departments", tags=["organisation"])
async def list_departments(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.Department]:
    return [s.Department.model_validate(d) for d in await views.list_departments(conn)]


@router.post("/staff", status_code=201, tags=["organisation"])
async def enrol_staff(body: c.EnrolStaff, request: Request, who: CurrentPrincipal, deps: Deps) -> s.StaffWritten:
    return s.StaffWritten.model_validate(await execute(
        request, lambda uow: organisation.enrol_staff(uow, deps, who, body), buffered=True))


@router.get("/staff", tags=["organisation"])
async def list_staff(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.Staff]:
    return [s.Staff.model_validate(m) for m in await views.list_staff(conn)]


async def register(request: Request, who: Principal, body: c.RegisterPerson) -> s.PersonWritten:
    """Register a person: the route below and its fast path (``bootstrap``, :mod:`shared.http.fast_route`)."""
    deps = await _registry_deps(request)
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.register_person(uow, deps, who, body), buffered=True))


@router.post("/persons", status_code=201, tags=["persons"], summary="Register a person with a disability")
async def register_person(body: c.RegisterPerson, request: Request, who: CurrentPrincipal) -> s.PersonWritten:
    return await register(request, who, body)


@router.get("/persons", tags=["persons"], summary="List or find persons (personal data masked by role)")
async def list_persons(
    request: Request,
    who: CurrentPrincipal,
    deps: Deps,
    conn: ReadConnection,
    township_code: str | None = None,
    village_code: str | None = None,
    certificate_number: str | None = Query(default=None, description="Find by certificate number (keyed hash)"),
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[s.Person]:
    shown = await views.list_persons(
        conn, deps, who, township_code=township_code, village_code=village_code,
        certificate_number=certificate_number, active=active, limit=limit, offset=offset,
    )
    return [s.Person.model_validate(p) for p in await _logged(request, who, shown)]


@router.get("/persons/{person_id}", tags=["persons"])
async def get_person(
    person_id: str, request: Request, who: CurrentPrincipal, deps: Deps, conn: ReadConnection
) -> s.Person:
    shown = await views.get_person(conn, deps, who, person_id)
    return s.Person.model_validate(await _logged(request, who, shown))


@router.post("/persons/{person_id}/corrections", tags=["persons"])
async def correct_person(
    person_id: str, body: c.CorrectPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.correct_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/relocation", tags=["persons"])
async def relocate_person(
    person_id: str, body: c.RelocatePerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.relocate_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/reassessment", tags=["persons"])
async def reassess_person(
    person_id: str, body: c.ReassessPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.reassess_person(uow, deps, who, person_id, body), buffered=True))


@router.put("/persons/{person_id}/hardship", tags=["persons"])
async def set_hardship(
    person_id: str, body: c.SetHardship, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.set_hardship(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/deregistration", tags=["persons"])
async def deregister(
    person_id: str, body: c.DeregisterPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.deregister_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/erasure", tags=["persons"], summary="Erase personal data (crypto-shredding)")
async def erase(
    person_id: str, body: c.VersionedCommand, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.erase_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/visits", status_code=201, tags=["visits"],
             summary="Record a visit attempt: the yearly survey, or 失访 with its reason")
async def record_visit(
    person_id: str, body: c.RecordVisit, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: visits.record_visit(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}", status_code=201, tags=["plans"], summary="Draw up the year's plan")
async def draw_plan(person_id: str, year: int, request: Request, who: CurrentPrincipal, deps: Deps) -> s.PlanWritten:
    return s.PlanWritten.model_validate(await execute(
        request, lambda uow: plans.draw_plan(uow, deps, who, person_id, year), buffered=True))


@router.get("/persons/{person_id}/plans/{year}", tags=["plans"])
async def get_plan(
    person_id: str, year: int, request: Request, who: CurrentPrincipal, deps: Deps, conn: ReadConnection
) -> s.Plan:
    shown = await views.get_plan(conn, deps, who, person_id, year)
    return s.Plan.model_validate(await _logged(request, who, shown))


@router.post("/persons/{person_id}/plans/{year}/items", status_code=201, tags=["plans"])
async def add_item(
    person_id: str, year: int, body: c.AddPlanItem, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PlanItemAdded:
    return s.PlanItemAdded.model_validate(await execute(
        request, lambda uow: plans.add_item(uow, deps, who, person_id, year, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}/items/{item_id}/delivery", tags=["plans"])
async def deliver_item(
    person_id: str, year: int, item_id: str, body: c.DeliverPlanItem, request: Request, who: CurrentPrincipal,
    deps: Deps,
) -> s.PlanWritten:
    return s.PlanWritten.model_validate(await execute(
        request, lambda uow: plans.deliver_item(uow, deps, who, person_id, year, item_id, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}/items/{item_id}/cancellation", tags=["plans"])
async def cancel_item(
    person_id: str, year: int, item_id: str, body: c.CancelPlanItem, request: Request, who: CurrentPrincipal,
    deps: Deps,
) -> s.PlanWritten:
    return s.PlanWritten.model_validate(await execute(
        request, lambda uow: plans.cancel_item(uow, deps, who, person_id, year, item_id, body), buffered=True))


def _log_filter(staff_id: str | None, person_id: str | None, route: str | None, since: datetime | None,
                until: datetime | None) -> access_log.LogFilter:
    return access_log.LogFilter(staff_id=staff_id, person_id=person_id, route=route, since=since, until=until)


LogQuery = Annotated[str | None, Query(max_length=200)]


@router.get("/access-log", tags=["audit"],
            summary="Reads of personal data in clear: who, when, which person, which route")
async def get_access_log(
    who: CurrentPrincipal, conn: ReadConnection, staff_id: LogQuery = None, person_id: LogQuery = None,
    route: LogQuery = None, since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000, offset: Offset = 0,
) -> list[s.AccessLogEntry]:
    entries = await access_log.query(conn, who, _log_filter(staff_id, person_id, route, since, until),
                                     limit=limit, offset=offset)
    return [s.AccessLogEntry.model_validate(e) for e in entries]


_EXPORTS = {
    "csv": ("text/csv; charset=utf-8", access_log.to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", access_log.to_xlsx),
}


@router.get("/access-log.{extension}", tags=["audit"], response_class=Response,
            summary="The access log as CSV or Excel")
async def export_access_log(
    extension: Literal["csv", "xlsx"], who: CurrentPrincipal, conn: ReadConnection, staff_id: LogQuery = None,
    person_id: LogQuery = None, route: LogQuery = None, since: datetime | None = None, until: datetime | None = None,
) -> Response:
    entries = await access_log.query(conn, who, _log_filter(staff_id, person_id, route, since, until),
                                     limit=1_000_000, offset=0)
    media_type, render = _EXPORTS[extension]
    return Response(render(entries), media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="access-log.{extension}"'})
