"""Every route of the inspections service against every role, the expected statuses from its access
table (``services/inspections/application/access.py``, shown in docs/inspections.md).

The routes come from the app's OpenAPI document, so a new route fails here until it has a row and
a cell. One member of staff per role, all of department ``health`` and all members of every group
formed here, so that each row's condition (membership of the group; the responsible unit) holds
and the role alone decides: a viewer put into a group still may not inspect. Each cell makes its
own group, inspection or ledger entry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.inspections.adapters.tables import (
    known_departments,
    known_org_units,
    known_persons,
    known_staff,
    known_templates,
)
from services.inspections.application.access import TABLE, markdown_table
from services.inspections.bootstrap import build_app
from services.inspections.settings import InspectionsSettings
from shared.auth import Principal, Role
from shared.runtime import ServiceRuntime
from shared.testing.access import Cell, MakeCell, answers_by_role, fixed, send, unlisted_routes
from shared.testing.http import app_client
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

TODAY = date(2026, 5, 20)
FENGMING = "511403001000"
ITEM = {"item_id": "a", "text": "台账齐全", "guidance": "查档案", "weight": 1.0, "evidence_required": False}
PERSON = "01a226a0-0000-7000-8000-00000000abcd"
STAFF: dict[Role, Principal] = {role: principal(f"{role.value}-1", role, department="health") for role in Role}
ADMIN, LEAD, OFFICER = STAFF[Role.FEDERATION_ADMIN], STAFF[Role.INSPECTOR], STAFF[Role.DEPARTMENT_OFFICER]
GROUP = {"name": "第一督导组", "leader": LEAD.staff_id, "members": [p.staff_id for p in STAFF.values()],
         "township_codes": [FENGMING], "unit_codes": ["health"]}
REPORT = {"measures_taken": "补齐档案", "evidence": ["photo://2"], "reported_on": "2026-05-14"}


@dataclasses.dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient

    async def as_(self, who: Principal, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await send(self.app, self.client, who, method, Cell(path, body))
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    async def group(self) -> str:
        return str((await self.as_(ADMIN, "POST", "/groups", GROUP))["group_id"])

    async def inspection(self, *, started: bool = False, result: str | None = None) -> str:
        scheduled = await self.as_(LEAD, "POST", "/inspections", {
            "group_id": await self.group(), "target_kind": "township", "target_code": FENGMING,
            "template_id": "tpl-1", "template_version": 1, "scheduled_on": "2026-05-10"})
        url = f"/inspections/{scheduled['inspection_id']}"
        if started:
            await self.as_(LEAD, "POST", f"{url}/start", {"started_on": "2026-05-12"})
        if result:
            await self.as_(LEAD, "PUT", f"{url}/items/a", {"result": result, "note": "缺档案"})
        return url

    async def finding(self) -> str:
        url = await self.inspection(started=True, result="fail")
        finding = await self.as_(LEAD, "POST", f"{url}/findings", {"item_id": "a", "description": "档案不全"})
        return f"{url}/findings/{finding['finding_id']}"

    async def rectification(self, *, reported: bool = False) -> str:
        entry = await self.as_(LEAD, "POST", f"{await self.finding()}/rectification", {
            "responsible_unit": "health", "measures": "补齐档案", "deadline": "2026-06-30",
            "assigned_on": "2026-05-12"})
        url = f"/rectifications/{entry['rectification_id']}"
        if reported:
            await self.as_(OFFICER, "POST", f"{url}/report", REPORT)
        return url


def cells(svc: Service, group: str, inspection: str, rectification: str) -> dict[str, MakeCell]:
    """How to exercise each route (the public ones need no cell)."""
    async def group_url() -> str:
        return f"/groups/{await svc.group()}"

    async def finding_url() -> str:
        return await svc.finding()

    async def inspection_url(started: bool = False, result: str | None = None) -> str:
        return await svc.inspection(started=started, result=result)

    async def rectification_url(reported: bool = False) -> str:
        return await svc.rectification(reported=reported)

    def at(base: Callable[..., Awaitable[str]], suffix: str, body: dict[str, Any], success: int = 200,
           **made: Any) -> MakeCell:
        """A request on an entity made afresh by ``base(**made)``."""
        async def make() -> Cell:
            return Cell(f"{await base(**made)}{suffix}", body, success)
        return make

    return {
        "POST /groups": fixed("/groups", GROUP, 201),
        "GET /groups": fixed("/groups"),
        "GET /groups/{group_id}": fixed(f"/groups/{group}"),
        "PUT /groups/{group_id}/membership": at(group_url, "/membership", {"leader": LEAD.staff_id,
                                                                           "members": GROUP["members"]}),
        "PUT /groups/{group_id}/coverage": at(group_url, "/coverage", {"township_codes": [FENGMING],
                                                                       "unit_codes": []}),
        "POST /inspections": lambda: _schedule(svc),
        "GET /inspections": fixed("/inspections"),
        "GET /inspections/{inspection_id}": fixed(inspection),
        "GET /inspections/{inspection_id}/focus-persons": fixed(f"{inspection}/focus-persons"),
        "POST /inspections/{inspection_id}/start": at(inspection_url, "/start", {"started_on": "2026-05-12"}),
        "PUT /inspections/{inspection_id}/items/{item_id}": at(inspection_url, "/items/a", {"result": "pass"},
                                                               started=True),
        "PUT /inspections/{inspection_id}/focus-checks/{person_id}": at(inspection_url, f"/focus-checks/{PERSON}", {
            "archive_complete": True, "visited_this_year": True, "has_plan": True}, started=True),
        "POST /inspections/{inspection_id}/findings": at(inspection_url, "/findings", {
            "item_id": "a", "description": "档案不全"}, 201, started=True, result="fail"),
        "POST /inspections/{inspection_id}/completion": at(inspection_url, "/completion", {
            "completed_on": "2026-05-19"}, started=True, result="pass"),
        "POST /inspections/{inspection_id}/cancellation": at(inspection_url, "/cancellation", {"reason": "改期"}),
        "POST /inspections/{inspection_id}/findings/{finding_id}/rectification": at(finding_url, "/rectification", {
            "responsible_unit": "health", "measures": "补齐档案", "deadline": "2026-06-30",
            "assigned_on": "2026-05-12"}, 201),
        "GET /rectifications": fixed("/rectifications"),
        "GET /rectifications/{rectification_id}": fixed(rectification),
        "POST /rectifications/{rectification_id}/report": at(rectification_url, "/report", REPORT),
        "POST /rectifications/{rectification_id}/verification": at(rectification_url, "/verification", {
            "note": "已复查", "evidence": ["photo://3"], "verified_on": "2026-05-15"}, reported=True),
        "POST /rectifications/{rectification_id}/reopening": at(rectification_url, "/reopening", {
            "reason": "不到位", "reopened_on": "2026-05-15"}, reported=True),
        "POST /rectifications/{rectification_id}/deadline-extension": at(rectification_url, "/deadline-extension", {
            "deadline": "2026-07-31", "reason": "汛期"}),
        "GET /templates": fixed("/templates"),
        "GET /templates/{template_id}/versions/{version}": fixed("/templates/tpl-1/versions/1"),
        "GET /directory/{what}": fixed("/directory/staff"),
        "GET /streams/{stream_id}": fixed(f"/streams/group-{group}"),
    }


async def _schedule(svc: Service) -> Cell:
    return Cell("/inspections", {"group_id": await svc.group(), "target_kind": "township", "target_code": FENGMING,
                                 "template_id": "tpl-1", "template_version": 1, "scheduled_on": "2026-05-10"}, 201)


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    settings = InspectionsSettings(data_dir=tmp_path, database_url=database_url, mode="development",
                                   nats_url="nats://127.0.0.1:1")
    app = build_app(settings)
    app.state.deps = dataclasses.replace(app.state.deps, today=lambda: TODAY)
    async with app_client(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.engine.begin() as conn:  # what the registry's and checklists' events would teach it
            await conn.execute(known_staff.insert(), [
                {"staff_id": p.staff_id, "display_name": p.staff_id, "department": "health",
                 "roles": json.dumps(sorted(p.roles)), "township_code": None} for p in STAFF.values()])
            await conn.execute(known_departments.insert(),
                               [{"code": "health", "name": "卫健局", "org_unit_code": None}])
            await conn.execute(known_org_units.insert(), [{"code": FENGMING, "name": "凤鸣街道", "level": "township",
                                                           "parent_code": "511403000000"}])
            await conn.execute(known_templates.insert(), [{"template_id": "tpl-1", "version": 1, "title": "检查清单",
                                                           "items": json.dumps([ITEM]),
                                                           "published_on": date(2026, 3, 2), "supersedes": None}])
            await conn.execute(known_persons.insert(), [{"person_id": PERSON, "township_code": FENGMING,
                                                         "village_code": "511403001001", "severe": True,
                                                         "hardship": False, "active": True}])
        yield Service(app, client)


async def test_every_route_answers_every_role_as_the_access_table_says(service: Service) -> None:
    group = await service.group()
    made = cells(service, group, await service.inspection(), await service.rectification())
    assert unlisted_routes(service.app, TABLE.routes(), made, public=set(TABLE.public)) == []
    assert await answers_by_role(service.app, service.client, made, STAFF, TABLE.allows) == []


def test_docs_show_the_access_table() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "inspections.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, "regenerate the table: python -m services.inspections access-table"
