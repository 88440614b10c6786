"""Every route of the registry against every role, expected statuses from the access table.

The routes come from the app's OpenAPI document, so a new route fails here until it is in the
table (``services/registry/application/access.py``, shown in docs/registry.md). Each cell runs on
fresh entities in the township officer's township (the department officer's department is
responsible for the plan item), so that one cell's change never decides another's status.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.registry.application.access import CHANGES, PUBLIC, READS, SIGN_IN, Scope
from services.registry.bootstrap import build_app
from services.registry.domain.certificate import make_resident_id
from services.registry.settings import RegistrySettings
from shared.auth import Principal, Role
from shared.testing.access import Cell, answers_by_role, send, unlisted_routes
from shared.testing.http import app_client, principal_bearer
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP = "511403000000", "511403100000"
VILLAGE, NEIGHBOUR_VILLAGE = "511403100001", "511403100002"
YEAR = date.today().year
TODAY = date.today().isoformat()
ADMIN = principal("admin")
ROLES: dict[Role, Principal] = {
    Role.FEDERATION_ADMIN: ADMIN,
    Role.DEPARTMENT_OFFICER: principal("health-1", Role.DEPARTMENT_OFFICER, department="health"),
    Role.TOWNSHIP_OFFICER: principal("township-1", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIP),
    Role.INSPECTOR: principal("inspector-1", Role.INSPECTOR),
    Role.VIEWER: principal("viewer-1", Role.VIEWER),
    Role.AUDITOR: principal("auditor-1", Role.AUDITOR),
}
LOOKUP = "GET /persons?certificate_number="
_numbers = itertools.count(1)
_villages = itertools.count(100)  # new villages of TOWNSHIP: 511403100100 …


def certificate(sequence: int, assessment: str = "41") -> str:
    return f"{make_resident_id('511403', date(1960, 5, 17), sequence)}{assessment}"


@dataclass
class Registry:
    app: FastAPI
    client: httpx.AsyncClient

    async def send(self, who: Principal | None, method: str, cell: Cell) -> httpx.Response:
        return await send(self.app, self.client, who, method, cell)

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.send(ADMIN, method, Cell(path, body))
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    async def person(self) -> tuple[str, int]:
        sequence = next(_numbers)
        person = await self.admin("POST", "/persons", {"certificate_number": certificate(sequence), "name": "张三",
                                                       "village_code": VILLAGE})
        return str(person["person_id"]), sequence

    async def plan_item(self) -> tuple[str, str]:
        person, _ = await self.person()
        await self.admin("POST", f"/persons/{person}/plans/{YEAR}")
        item = await self.admin("POST", f"/persons/{person}/plans/{YEAR}/items", {
            "kind": "protection", "need": "rehabilitation", "description": "康复", "responsible_department": "health",
            "due_on": f"{YEAR}-12-31"})
        return person, str(item["item_id"])


async def _person_cell(reg: Registry, suffix: str, body: dict[str, Any] | None = None, success: int = 200) -> Cell:
    person, _ = await reg.person()
    return Cell(f"/persons/{person}{suffix}", body, success)


async def _reassessment(reg: Registry) -> Cell:
    person, sequence = await reg.person()
    return Cell(f"/persons/{person}/reassessment", {"certificate_number": certificate(sequence, "42")})


async def _plan_cell(reg: Registry, suffix: str, body: dict[str, Any] | None = None, success: int = 200) -> Cell:
    person, _ = await reg.person()
    await reg.admin("POST", f"/persons/{person}/plans/{YEAR}")
    return Cell(f"/persons/{person}/plans/{YEAR}{suffix}", body, success)


async def _item_cell(reg: Registry, action: str, body: dict[str, Any]) -> Cell:
    person, item = await reg.plan_item()
    return Cell(f"/persons/{person}/plans/{YEAR}/items/{item}/{action}", body)


async def _lookup(reg: Registry) -> Cell:
    _person, sequence = await reg.person()
    return Cell(f"/persons?certificate_number={certificate(sequence)}")


async def _stream(reg: Registry) -> Cell:
    person, _ = await reg.person()
    return Cell(f"/streams/person-{person}")


async def _certificate_cell(reg: Registry, suffix: str, body: dict[str, Any], *, moved: bool = False) -> Cell:
    """A person with a certificate issued two years ago (and a household move, for a transfer)."""
    person, _ = await reg.person()
    await reg.admin("POST", f"/persons/{person}/certificate", {"issued_on": _days_ago(730)})
    if moved:
        await reg.admin("POST", f"/persons/{person}/certificate/household-move", {"moved_on": _days_ago(30)})
    return Cell(f"/persons/{person}/certificate{suffix}", body)


def _days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


EXTRACT_HEADINGS = ["姓名", "残疾人证号", "性别", "出生日期", "残疾类别", "残疾等级", "所属乡镇（街道）",
                    "所属村（社区）", "住址", "发证日期"]


def _extract(path: str) -> Callable[[Registry], Awaitable[Cell]]:
    """A one-row register extract of a new resident, in the fixture's township and village."""
    async def make(_reg: Registry) -> Cell:
        sequence = _n()
        sex = "男" if sequence % 2 else "女"
        row = ["赵六", certificate(sequence, "42"), sex, "1960-05-17", "肢体残疾", "二级", "凤鸣街道", "一村",
               "一村1号", "2020-03-15"]
        return Cell(path, upload=_csv([EXTRACT_HEADINGS, row]))
    return make


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


async def _deaths_list(reg: Registry) -> Cell:
    _person, sequence = await reg.person()
    return Cell("/deaths/proposals", upload=_csv([["姓名", "身份证号", "死亡日期"],
                                                   ["张三", certificate(sequence)[:18], _days_ago(1)]]))


async def _death_confirmation(reg: Registry) -> Cell:
    person, _ = await reg.person()
    return Cell("/deaths/confirmations", {"deaths": [{"person_id": person, "died_on": _days_ago(1)}]})


async def _staff_cell(reg: Registry, suffix: str, body: dict[str, Any] | None, success: int = 200) -> Cell:
    staff = f"staff-{_n()}"
    await reg.admin("POST", "/staff", {"staff_id": staff, "display_name": "王五", "department": "health",
                                       "roles": ["viewer"]})
    return Cell(f"/staff/{staff}{suffix}", body, success)


SURVEY_DRAFT = {"year": YEAR + 1, "title_zh": "调查表", "title_en": "Survey", "sections": [
    {"code": "main", "label_zh": "主要", "label_en": "Main", "items": [
        {"code": "family_doctor", "label_zh": "签约家庭医生", "label_en": "Family doctor", "answer_type": "yesno"}]}]}


async def _survey_draft(_reg: Registry) -> Cell:
    return Cell(f"/survey-forms/form-{_n()}/draft", SURVEY_DRAFT)


async def _survey_publication(reg: Registry) -> Cell:
    form = f"form-{_n()}"
    await reg.admin("PUT", f"/survey-forms/{form}/draft", SURVEY_DRAFT)
    return Cell(f"/survey-forms/{form}/draft/publication", {}, 201)


_SERVICE = {"name_zh": "上门康复", "name_en": "Home rehabilitation", "need": "rehabilitation", "part": "protection",
            "responsible_department": "health", "default_days": 30}


async def _service_cell(reg: Registry, suffix: str, body: dict[str, Any]) -> Cell:
    code = f"service_{_n()}"
    await reg.admin("POST", "/service-catalogue", {"code": code, **_SERVICE})
    return Cell(f"/service-catalogue/{code}{suffix}", body)


async def _seed_cell(reg: Registry) -> Cell:
    """Seeding enters defaults of unregistered departments under the federation: register it once."""
    known = {d["code"] for d in (await reg.client.get("/departments", headers=principal_bearer(reg.app, ADMIN))).json()}
    if "federation" not in known:
        await reg.admin("POST", "/departments", {"code": "federation", "name": "区残联"})
    return Cell("/service-catalogue/defaults")


async def _proposal_cell(reg: Registry) -> Cell:
    person, _ = await reg.person()
    await reg.admin("POST", f"/persons/{person}/visits", {"visited_on": TODAY, "mode": "home",
                                                          "needs": ["rehabilitation"]})
    return Cell(f"/persons/{person}/plans/{YEAR}/proposal")


def _fixed(cell: Cell) -> Callable[[Registry], Awaitable[Cell]]:
    async def make(_reg: Registry) -> Cell:
        return cell
    return make


def _n() -> int:
    return next(_numbers)


CELLS: dict[str, Callable[[Registry], Awaitable[Cell]]] = {
    "POST /org-units": lambda reg: _fixed(Cell("/org-units", {"code": f"511403100{next(_villages):03d}", "name": "新村",
                                                             "level": "village", "parent_code": TOWNSHIP}, 201))(reg),
    "GET /org-units": _fixed(Cell("/org-units")),
    "POST /departments": lambda reg: _fixed(Cell("/departments", {"code": f"dept-{_n()}", "name": "新局"}, 201))(reg),
    "GET /departments": _fixed(Cell("/departments")),
    "POST /staff": lambda reg: _fixed(Cell("/staff", {"staff_id": f"staff-{_n()}", "display_name": "王五",
                                                      "department": "health", "roles": ["viewer"]}, 201))(reg),
    "GET /staff": _fixed(Cell("/staff")),
    "POST /persons": lambda reg: _fixed(Cell("/persons", {"certificate_number": certificate(_n()), "name": "李四",
                                                          "village_code": VILLAGE}, 201))(reg),
    "GET /persons": _fixed(Cell("/persons")),
    LOOKUP: _lookup,
    "GET /persons/{person_id}": lambda reg: _person_cell(reg, ""),
    "POST /persons/{person_id}/corrections": lambda reg: _person_cell(reg, "/corrections", {"name": "张三丰"}),
    "POST /persons/{person_id}/relocation": lambda reg: _person_cell(reg, "/relocation",
                                                                     {"village_code": NEIGHBOUR_VILLAGE}),
    "POST /persons/{person_id}/reassessment": _reassessment,
    "PUT /persons/{person_id}/hardship": lambda reg: _person_cell(reg, "/hardship", {"hardship": ["living_alone"]}),
    "POST /persons/{person_id}/deregistration": lambda reg: _person_cell(reg, "/deregistration", {"reason": "died"}),
    "POST /persons/{person_id}/erasure": lambda reg: _person_cell(reg, "/erasure", {}),
    "POST /persons/{person_id}/visits": lambda reg: _person_cell(reg, "/visits", {"visited_on": TODAY,
                                                                                  "mode": "phone"}, 201),
    "POST /persons/{person_id}/plans/{year}": lambda reg: _person_cell(reg, f"/plans/{YEAR}", None, 201),
    "GET /persons/{person_id}/plans/{year}": lambda reg: _plan_cell(reg, ""),
    "POST /persons/{person_id}/plans/{year}/items": lambda reg: _plan_cell(reg, "/items", {
        "kind": "income", "need": "employment", "description": "就业", "responsible_department": "health",
        "due_on": f"{YEAR}-12-31"}, 201),
    "POST /persons/{person_id}/plans/{year}/items/{item_id}/delivery": lambda reg: _item_cell(
        reg, "delivery", {"delivered_on": TODAY, "note": "送达"}),
    "POST /persons/{person_id}/plans/{year}/items/{item_id}/cancellation": lambda reg: _item_cell(
        reg, "cancellation", {"reason": "重复"}),
    "POST /persons/{person_id}/plans/{year}/items/{item_id}/non-delivery": lambda reg: _item_cell(
        reg, "non-delivery", {"reason": "refused", "closed_on": TODAY}),
    "GET /persons/{person_id}/plans/{year}/proposal": _proposal_cell,
    "POST /persons/{person_id}/plans/{year}/proposal": lambda reg: _person_cell(reg, f"/plans/{YEAR}/proposal", {
        "items": [{"kind": "protection", "need": "rehabilitation", "description": "康复",
                   "responsible_department": "health", "due_on": f"{YEAR}-12-31"}]}, 201),
    "GET /service-catalogue": _fixed(Cell("/service-catalogue")),
    "POST /service-catalogue": lambda reg: _fixed(Cell("/service-catalogue", {"code": f"service_{_n()}", **_SERVICE},
                                                       201))(reg),
    "POST /service-catalogue/defaults": _seed_cell,
    "PUT /service-catalogue/{code}": lambda reg: _service_cell(reg, "", {**_SERVICE, "default_days": 45}),
    "POST /service-catalogue/{code}/retirement": lambda reg: _service_cell(reg, "/retirement", {"reason": "合并"}),
    "POST /persons/{person_id}/certificate": lambda reg: _person_cell(reg, "/certificate",
                                                                      {"issued_on": _days_ago(730)}, 201),
    "GET /persons/{person_id}/certificate": lambda reg: _certificate_cell(reg, "", {}),
    "POST /persons/{person_id}/certificate/renewal": lambda reg: _certificate_cell(
        reg, "/renewal", {"issued_on": _days_ago(0)}),
    "POST /persons/{person_id}/certificate/reissue": lambda reg: _certificate_cell(
        reg, "/reissue", {"issued_on": _days_ago(0)}),
    "POST /persons/{person_id}/certificate/household-move": lambda reg: _certificate_cell(
        reg, "/household-move", {"moved_on": _days_ago(10)}),
    "POST /persons/{person_id}/certificate/transfer": lambda reg: _certificate_cell(
        reg, "/transfer", {"transferred_on": _days_ago(0)}, moved=True),
    "POST /persons/{person_id}/certificate/cancellation": lambda reg: _certificate_cell(
        reg, "/cancellation", {"reason": "standard_not_met"}),
    "GET /certificates": _fixed(Cell("/certificates")),
    "GET /certificates/expiring": _fixed(Cell("/certificates/expiring")),
    "POST /register-imports/dry-run": _extract("/register-imports/dry-run"),
    "POST /register-imports": _extract("/register-imports"),
    "POST /register-imports/reconciliation": _extract("/register-imports/reconciliation"),
    "POST /deaths/proposals": _deaths_list,
    "POST /deaths/confirmations": _death_confirmation,
    "GET /streams/{stream_id}": _stream,
    "POST /staff/{staff_id}/setup-code": lambda reg: _staff_cell(reg, "/setup-code", None, 201),
    "PUT /staff/{staff_id}/roles": lambda reg: _staff_cell(reg, "/roles", {"roles": ["auditor"]}),
    "PUT /staff/{staff_id}/contact": lambda reg: _staff_cell(reg, "/contact", {"email": "a@example.org"}),
    "POST /staff/{staff_id}/disable": lambda reg: _staff_cell(reg, "/disable", {}),
    "GET /survey-forms/current": _fixed(Cell(f"/survey-forms/current?year={YEAR}")),
    "GET /survey-forms/{form_id}/versions/{version}": _fixed(Cell("/survey-forms/yearly-survey/versions/1")),
    "GET /survey-forms/{form_id}": _fixed(Cell("/survey-forms/yearly-survey")),
    "PUT /survey-forms/{form_id}/draft": _survey_draft,
    "POST /survey-forms/{form_id}/draft/publication": _survey_publication,
    "GET /access-log": _fixed(Cell("/access-log")),
    "GET /access-log.{extension}": _fixed(Cell("/access-log.csv")),
}
"""How to exercise each route (the public ones need no cell)."""


def expected(route: str, role: Role) -> int:
    """The status the access table promises ``role`` on ``route``."""
    for read in READS:
        if route in read.routes:
            return 403 if read.scopes.get(role, Scope.NONE) is Scope.NONE else 200
    change = next(c for c in CHANGES if route in c.routes)
    return 0 if role in change.roles else 403  # 0: the cell's own success status


def documented() -> set[str]:
    return ({r for read in READS for r in read.routes} | {r for c in CHANGES for r in c.routes} | set(PUBLIC)
            | set(SIGN_IN))


@pytest.fixture
async def registry(database_url: str, tmp_path: Path) -> AsyncIterator[Registry]:
    app = build_app(RegistrySettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                     nats_url="nats://127.0.0.1:1", lookups_per_minute=10_000))
    async with app_client(app) as client:
        reg = Registry(app, client)
        for unit in ({"code": DISTRICT, "name": "彭山区", "level": "district"},
                     {"code": TOWNSHIP, "name": "凤鸣街道", "level": "township", "parent_code": DISTRICT},
                     {"code": VILLAGE, "name": "一村", "level": "village", "parent_code": TOWNSHIP},
                     {"code": NEIGHBOUR_VILLAGE, "name": "二村", "level": "village", "parent_code": TOWNSHIP}):
            await reg.admin("POST", "/org-units", unit)
        await reg.admin("POST", "/departments", {"code": "health", "name": "卫健局"})
        yield reg


def test_every_route_of_the_app_is_in_the_access_table_and_every_documented_route_exists(tmp_path: Path) -> None:
    app = build_app(RegistrySettings(data_dir=tmp_path, mode="development"))
    assert unlisted_routes(app, documented(), CELLS, public=set(PUBLIC) | set(SIGN_IN)) == [], (
        "add the route to access.py (and regenerate the docs)")


async def test_every_route_answers_every_role_as_the_access_table_says(registry: Registry) -> None:
    cells = {route: functools.partial(make, registry) for route, make in CELLS.items()}
    assert await answers_by_role(registry.app, registry.client, cells, ROLES,
                                 lambda route, role: expected(route, role) != 403) == []


async def test_public_routes_answer_without_a_token(registry: Registry) -> None:
    for route in PUBLIC:
        method, path = route.split()
        body = {"staff_id": "nobody"} if method == "POST" else None
        response = await registry.send(None, method, Cell(path, body))
        assert response.status_code in (200, 404), (route, response.status_code)  # 404: no staff "nobody"


async def test_sign_in_routes_need_no_token_but_a_valid_credential(registry: Registry) -> None:
    for route in SIGN_IN:
        method, path = route.split()
        refused = await registry.send(None, method, Cell(path, {"staff_id": "nobody", "password": "wrong-password-1",
                                                              "refresh_token": "not-a-token", "code": "000000"}))
        # Without a token the route is reached (never 403) and the bad credential refused (never 5xx).
        assert refused.status_code in (200, 401, 404, 422), (route, refused.status_code, refused.text[:200])
