"""Personal data over HTTP, the real registry app on a real database (no NATS): reads scoped by
role and township, masking, the rate-limited lookup, the access log and its export, erasure that
frees the resident ID, and out-of-range input answered 422."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import openpyxl
import pytest
from fastapi import FastAPI

from services.registry.application.access import markdown_table
from services.registry.bootstrap import build_app
from services.registry.domain.certificate import make_resident_id
from services.registry.settings import RegistrySettings
from shared.auth import Principal, Role
from shared.testing.http import app_client, principal_bearer
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "511403000000", "511403100000", "511403200000"
VILLAGE, OTHER_VILLAGE = "511403100001", "511403200001"
YEAR = date.today().year
ADMIN = principal("admin")
OFFICER = principal("officer-1", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIP)
HEALTH = principal("health-1", Role.DEPARTMENT_OFFICER, department="health")
INSPECTOR = principal("inspector-1", Role.INSPECTOR)
VIEWER = principal("viewer", Role.VIEWER)
AUDITOR = principal("auditor", Role.AUDITOR)


def certificate(sequence: int) -> str:
    return f"{make_resident_id('511403', date(1960, 5, 17), sequence)}41"


@dataclass
class Registry:
    app: FastAPI
    client: httpx.AsyncClient

    async def call(self, who: Principal, method: str, url: str, **kwargs: object) -> httpx.Response:
        return await self.client.request(method, url, headers=principal_bearer(self.app, who), **kwargs)  # type: ignore[arg-type]

    async def ok(self, who: Principal, method: str, url: str, **kwargs: object) -> httpx.Response:
        response = await self.call(who, method, url, **kwargs)
        assert response.status_code < 300, response.text
        return response

    async def register(self, sequence: int, name: str, village: str = VILLAGE) -> str:
        body = {"certificate_number": certificate(sequence), "name": name, "address": "一村1号",
                "village_code": village}
        return str((await self.ok(ADMIN, "POST", "/persons", json=body)).json()["person_id"])


@pytest.fixture
async def registry(database_url: str, tmp_path: Path) -> AsyncIterator[Registry]:
    settings = RegistrySettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                nats_url="nats://127.0.0.1:1", lookups_per_minute=3)
    app = build_app(settings)
    async with app_client(app) as client:
        reg = Registry(app, client)
        for unit in ({"code": DISTRICT, "name": "彭山区", "level": "district"},
                     {"code": TOWNSHIP, "name": "凤鸣街道", "level": "township", "parent_code": DISTRICT},
                     {"code": OTHER_TOWNSHIP, "name": "谢家街道", "level": "township", "parent_code": DISTRICT},
                     {"code": VILLAGE, "name": "一村", "level": "village", "parent_code": TOWNSHIP},
                     {"code": OTHER_VILLAGE, "name": "二村", "level": "village", "parent_code": OTHER_TOWNSHIP}):
            await reg.ok(ADMIN, "POST", "/org-units", json=unit)
        await reg.ok(ADMIN, "POST", "/departments", json={"code": "health", "name": "卫健局"})
        yield reg


async def plan_with_item(reg: Registry, person_id: str, description: str, note: str) -> str:
    await reg.ok(ADMIN, "POST", f"/persons/{person_id}/plans/{YEAR}")
    item = (await reg.ok(ADMIN, "POST", f"/persons/{person_id}/plans/{YEAR}/items", json={
        "kind": "protection", "need": "rehabilitation", "description": description,
        "responsible_department": "health", "due_on": f"{YEAR}-12-31"})).json()["item_id"]
    await reg.ok(HEALTH, "POST", f"/persons/{person_id}/plans/{YEAR}/items/{item}/delivery",
                 json={"delivered_on": date.today().isoformat(), "note": note})
    return str(item)


async def test_a_township_officer_reads_persons_and_plans_of_their_own_township_only(registry: Registry) -> None:
    mine, theirs = await registry.register(1, "张三"), await registry.register(2, "李四", OTHER_VILLAGE)
    await plan_with_item(registry, theirs, "李四每周康复两次", "已送达")
    listed = (await registry.ok(OFFICER, "GET", "/persons")).json()
    assert [(p["person_id"], p["name"], p["personal_data"]) for p in listed] == [(mine, "张三", "clear")]
    for url in (f"/persons?township_code={OTHER_TOWNSHIP}", f"/persons/{theirs}", f"/persons/{theirs}/plans/{YEAR}"):
        response = await registry.call(OFFICER, "GET", url)
        assert response.status_code == 403, url
        assert "李四" not in response.text and OTHER_TOWNSHIP in response.json()["message"]


async def test_masked_roles_see_no_name_length_and_the_viewer_sees_no_person(registry: Registry) -> None:
    short, long = await registry.register(1, "张三"), await registry.register(2, "欧阳娜娜")
    for who in (HEALTH, INSPECTOR, AUDITOR):
        names = {p["person_id"]: (p["name"], p["address"], p["certificate_number"])
                 for p in (await registry.ok(who, "GET", "/persons")).json()}
        assert names[short][0] == "张**" and names[long][0] == "欧**"  # the same length whatever the name
        assert names[short][1] is None and names[short][2] == certificate(1)[:6] + "*" * 12 + "41"
    for url in ("/persons", f"/persons/{short}"):
        assert (await registry.call(VIEWER, "GET", url)).status_code == 403


async def test_plan_texts_are_clear_in_scope_for_the_responsible_department_and_withheld_elsewhere(
    registry: Registry,
) -> None:
    person = await registry.register(1, "张三")
    await plan_with_item(registry, person, "张三每周康复两次", "张三已签收")
    url = f"/persons/{person}/plans/{YEAR}"
    for who in (ADMIN, OFFICER, HEALTH):
        [item] = (await registry.ok(who, "GET", url)).json()["items"]
        assert (item["description"], item["note"]) == ("张三每周康复两次", "张三已签收"), who.staff_id
    for who in (INSPECTOR, AUDITOR):
        plan = (await registry.ok(who, "GET", url)).json()
        assert plan["personal_data"] == "masked" and "张三" not in str(plan)
    assert (await registry.call(VIEWER, "GET", url)).status_code == 403


async def test_lookup_by_certificate_number_is_for_registering_roles_and_rate_limited(registry: Registry) -> None:
    person = await registry.register(1, "张三")
    url = f"/persons?certificate_number={certificate(1)}"
    for who in (HEALTH, INSPECTOR, AUDITOR, VIEWER):
        assert (await registry.call(who, "GET", url)).status_code == 403, who.staff_id
    for _ in range(3):
        assert [p["person_id"] for p in (await registry.ok(ADMIN, "GET", url)).json()] == [person]
    refused = await registry.call(ADMIN, "GET", url)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"] == "too_many_requests"
    # The limit is per member of staff: another one is not held back by the first.
    assert (await registry.call(OFFICER, "GET", url)).status_code == 200


async def test_every_read_in_clear_is_logged_for_auditors_and_exported(registry: Registry) -> None:
    person, other = await registry.register(1, "张三"), await registry.register(2, "李四", OTHER_VILLAGE)
    await registry.ok(ADMIN, "GET", f"/persons/{person}")
    await registry.ok(OFFICER, "GET", "/persons")
    await registry.ok(OFFICER, "GET", f"/persons?certificate_number={certificate(9)}")  # finds no one
    await registry.ok(INSPECTOR, "GET", "/persons")  # masked: nothing in clear, nothing logged
    for who in (VIEWER, OFFICER, INSPECTOR, HEALTH):
        assert (await registry.call(who, "GET", "/access-log")).status_code == 403
    entries = (await registry.ok(AUDITOR, "GET", "/access-log")).json()
    seen = sorted((e["staff_id"], e["route"], e["what"], e["person_id"] or "-") for e in entries)
    assert seen == sorted([("admin", "GET /persons/{person_id}", "details", person),
                           ("officer-1", "GET /persons", "list", person),
                           ("officer-1", "GET /persons", "lookup", "-")])
    assert other not in str(entries)
    mine = (await registry.ok(AUDITOR, "GET", f"/access-log?person_id={person}&staff_id=admin")).json()
    assert [e["what"] for e in mine] == ["details"]
    rows = list(csv.reader(io.StringIO((await registry.ok(AUDITOR, "GET", "/access-log.csv")).text.lstrip("\ufeff"))))
    assert rows[0] == ["at", "staff_id", "roles", "route", "what", "person_id"] and len(rows) == 4
    book = openpyxl.load_workbook(io.BytesIO((await registry.ok(ADMIN, "GET", "/access-log.xlsx")).content))
    assert book.active is not None and book.active.max_row == 4


async def test_erasure_frees_the_resident_id_and_leaves_the_access_log(registry: Registry) -> None:
    person = await registry.register(1, "张三")
    await plan_with_item(registry, person, "张三每周康复两次", "张三已签收")
    await registry.ok(ADMIN, "GET", f"/persons/{person}")
    await registry.ok(ADMIN, "POST", f"/persons/{person}/erasure", json={})
    assert (await registry.ok(ADMIN, "GET", f"/persons?certificate_number={certificate(1)}")).json() == []
    plan = (await registry.ok(ADMIN, "GET", f"/persons/{person}/plans/{YEAR}")).json()
    assert plan["personal_data"] == "erased" and "张三" not in str(plan)
    assert (await registry.ok(ADMIN, "GET", f"/persons/{person}")).json()["personal_data"] == "erased"
    again = await registry.register(1, "张三")  # the same resident ID, registered anew
    assert again != person
    logged = (await registry.ok(AUDITOR, "GET", f"/access-log?person_id={person}")).json()
    assert [e["what"] for e in logged] == ["details"]


@pytest.mark.parametrize("url", [f"/persons?offset={2**63}", "/persons?offset=-1", "/persons?limit=0",
                                 f"/persons?limit={2**63}", "/access-log?offset=99999999999"])
async def test_out_of_range_paging_is_a_422(registry: Registry, url: str) -> None:
    response = await registry.call(ADMIN, "GET", url)
    assert response.status_code == 422 and response.json()["error"] == "invalid"


def test_the_documented_table_of_reads_is_the_one_the_code_enforces() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "registry.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, "regenerate the table: python -m services.registry access-table"
