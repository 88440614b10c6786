"""The inspections service's routes in-process: the real app over a real database, no NATS."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from services.inspections.adapters.tables import (
    inspections,
    known_departments,
    known_org_units,
    known_persons,
    known_staff,
    known_templates,
)
from services.inspections.application import person_texts
from services.inspections.application.lookup_rows import VERIFIED
from services.inspections.bootstrap import build_app
from services.inspections.settings import InspectionsSettings
from shared.auth import Role
from shared.eventstore.lookup_check import check_lookup_rows
from shared.runtime import ServiceRuntime
from shared.testing.http import app_client, bearer, error_of, invalid_fields, undocumented_responses
from shared.testing.verify import verify_offline

pytestmark = pytest.mark.integration

TODAY = date(2026, 5, 20)
FENGMING = "511403001000"
ITEM = {"item_id": "a", "text": "台账齐全", "guidance": "查档案", "weight": 1.0, "evidence_required": False}
PERSON = "01a226a0-0000-7000-8000-00000000abcd"


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = InspectionsSettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                   nats_url="nats://127.0.0.1:1")
    application = build_app(settings)
    application.state.deps = dataclasses.replace(application.state.deps, today=lambda: TODAY)
    async with app_client(application) as client:
        runtime: ServiceRuntime = application.state.runtime
        async with runtime.engine.begin() as conn:  # what the registry's and checklists' events would teach it
            await conn.execute(known_staff.insert(), [
                {"staff_id": "lead", "display_name": "组长", "department": "federation", "roles": '["inspector"]',
                 "township_code": None}])
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
        client.headers.update(bearer(application, "admin", Role.FEDERATION_ADMIN))
        yield application, client


def lead(application: FastAPI) -> dict[str, str]:
    return bearer(application, "lead", Role.INSPECTOR)


async def _group(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/groups", json={"name": "第一督导组", "leader": "lead",
                                                  "township_codes": [FENGMING], "unit_codes": ["health"]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _inspection(application: FastAPI, client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    group = await _group(client)
    scheduled = await client.post("/inspections", headers=lead(application), json={
        "group_id": group["group_id"], "target_kind": "township", "target_code": FENGMING,
        "template_id": "tpl-1", "template_version": 1, "scheduled_on": "2026-05-10"})
    assert scheduled.status_code == 201, scheduled.text
    return group["group_id"], scheduled.json()


async def test_every_route_needs_a_valid_token(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    for path in ("/groups", "/inspections", "/rectifications", "/templates", "/directory/staff"):
        assert error_of(await client.get(path, headers={"Authorization": ""})) == (401, "unauthenticated", None)


async def test_only_admins_form_groups_and_only_members_inspect(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    viewer = bearer(application, "v", Role.VIEWER)
    refused = await client.post("/groups", headers=viewer, json={"name": "x", "leader": "lead"})
    assert error_of(refused)[:2] == (403, "forbidden")
    group_id, inspection = await _inspection(application, client)
    stranger = bearer(application, "someone", Role.INSPECTOR)
    url = f"/inspections/{inspection['inspection_id']}/start"
    assert error_of(await client.post(url, headers=stranger, json={"started_on": "2026-05-12"}))[:2] == (
        403, "forbidden")
    untouched = (await client.get(f"/inspections/{inspection['inspection_id']}")).json()
    assert untouched["status"] == "scheduled"
    assert untouched["items"] == [{**ITEM, "result": None}]  # no note or evidence keys before a result
    assert [g["group_id"] for g in (await client.get("/groups")).json()] == [group_id]


async def test_an_inspection_and_its_ledger_entry_read_back_with_iso_dates(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    group_id, inspection = await _inspection(application, client)
    url = f"/inspections/{inspection['inspection_id']}"
    for path, body in ((f"{url}/start", {"started_on": "2026-05-12"}),
                       (f"{url}/items/a", {"result": "fail", "note": "缺档案", "evidence": ["photo://1"]})):
        response = await (client.post if path.endswith("start") else client.put)(path, json=body,
                                                                                 headers=lead(application))
        assert response.status_code == 200, response.text
    finding = (await client.post(f"{url}/findings", headers=lead(application),
                                 json={"item_id": "a", "description": "档案不全"})).json()
    entry = await client.post(f"{url}/findings/{finding['finding_id']}/rectification", headers=lead(application),
                              json={"responsible_unit": "health", "measures": "补齐档案", "deadline": "2026-05-15",
                                    "assigned_on": "2026-05-12"})
    assert entry.status_code == 201, entry.text
    detail = (await client.get(url)).json()
    assert (detail["scheduled_on"], detail["started_on"], detail["completed_on"]) == ("2026-05-10", "2026-05-12",
                                                                                       None)
    assert detail["items"] == [{**ITEM, "result": "fail", "note": "缺档案", "evidence": ["photo://1"]}]
    (found,) = detail["findings"]
    assert found["rectification"]["status"] == "assigned"
    assert (await client.get("/inspections", params={"group_id": group_id})).json()[0]["started_on"] == "2026-05-12"
    ledger = (await client.get("/rectifications")).json()
    assert [(r["deadline"], r["assigned_on"], r["reported_on"], r["overdue"]) for r in ledger] == [
        ("2026-05-15", "2026-05-12", None, True)]
    one = (await client.get(f"/rectifications/{ledger[0]['rectification_id']}")).json()
    assert {k: v for k, v in one.items() if k != "history"} == ledger[0]
    assert [(h["type"], h["version"], h["actor"]) for h in one["history"]] == [
        ("rectification.assigned", 1, "lead")]
    assert one["history"][0]["at"].startswith(str(date.today().year))
    focus = (await client.get(f"{url}/focus-persons")).json()
    assert focus == {"inspection_id": inspection["inspection_id"], "township_code": FENGMING, "year": 2026,
                     "persons": [{"person_id": PERSON, "village_code": "511403001001", "severe": True,
                                  "hardship": False, "checked": None,
                                  "registry_says": {"visited_this_year": False, "has_plan": False}}]}


async def test_a_focus_check_note_reads_back_until_the_person_is_erased(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    _group_id, inspection = await _inspection(application, client)
    url = f"/inspections/{inspection['inspection_id']}"
    assert (await client.post(f"{url}/start", json={"started_on": "2026-05-12"}, headers=lead(application))
            ).status_code == 200
    recorded = await client.put(f"{url}/focus-checks/{PERSON}", headers=lead(application), json={
        "archive_complete": False, "visited_this_year": True, "has_plan": True, "note": "档案照片缺失"})
    assert recorded.status_code == 200, recorded.text

    async def notes() -> tuple[str | None, str | None]:
        [check] = (await client.get(url)).json()["focus_checks"]
        [person] = (await client.get(f"{url}/focus-persons")).json()["persons"]
        return check["note"], person["checked"]["note"]
    assert await notes() == ("档案照片缺失", "档案照片缺失")
    runtime: ServiceRuntime = application.state.runtime
    async with runtime.engine.begin() as conn:  # what the registry's erasure event does here
        await person_texts.destroy_key(conn, PERSON, datetime.now(UTC))
    assert await notes() == (None, None)


async def test_learned_facts_read_back(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    template = {"template_id": "tpl-1", "version": 1, "title": "检查清单", "published_on": "2026-03-02",
                "supersedes": None, "items": [ITEM]}
    assert (await client.get("/templates")).json() == [template]
    assert (await client.get("/templates/tpl-1/versions/1")).json() == template
    assert (await client.get("/directory/staff")).json() == [
        {"staff_id": "lead", "display_name": "组长", "department": "federation", "roles": ["inspector"],
         "township_code": None}]
    assert (await client.get("/directory/townships")).json() == [
        {"code": FENGMING, "name": "凤鸣街道", "level": "township", "parent_code": "511403000000"}]
    assert (await client.get("/directory/departments")).json() == [
        {"code": "health", "name": "卫健局", "org_unit_code": None}]


async def test_unknown_things_are_404(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    for path in ("/groups/nope", "/inspections/nope", "/rectifications/nope", "/inspections/nope/focus-persons"):
        assert error_of(await client.get(path))[:2] == (404, "not_found"), path
    assert error_of(await client.put("/groups/nope/membership", json={"leader": "lead"}))[:2] == (404, "not_found")


async def test_a_stale_expected_version_is_409(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    group = await _group(client)
    url = f"/groups/{group['group_id']}/coverage"
    fresh = await client.put(url, json={"township_codes": [], "unit_codes": ["health"], "expected_version": 1})
    assert fresh.status_code == 200, fresh.text
    stale = await client.put(url, json={"township_codes": [FENGMING], "expected_version": 1})
    assert error_of(stale)[:2] == (409, "version_conflict")
    assert (await client.get(f"/groups/{group['group_id']}")).json()["township_codes"] == []


async def test_bad_input_is_422_naming_the_field(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    assert invalid_fields(await client.post("/groups", json={"name": "x", "leader": "no spaces"})) == {"leader"}
    group = await _group(client)
    unknown = await client.post("/inspections", headers=lead(application), json={
        "group_id": group["group_id"], "target_kind": "township", "target_code": "511403009000",
        "template_id": "tpl-1", "template_version": 1, "scheduled_on": "2026-05-10"})
    assert error_of(unknown) == (422, "invalid", "target_code")
    assert invalid_fields(await client.get("/directory/persons")) == {"path.what"}
    assert invalid_fields(await client.get("/templates/tpl-1/versions/0")) == {"path.version"}
    assert error_of(await client.get("/templates/tpl-9/versions/1"))[:2] == (422, "invalid")
    assert (await client.get("/inspections")).json() == []  # nothing was written


async def test_every_route_documents_its_response(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, _ = app
    assert undocumented_responses(application) == []


async def test_a_report_with_huge_evidence_links_is_422_and_writes_nothing(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    _, inspection = await _inspection(application, client)
    url = f"/inspections/{inspection['inspection_id']}"
    assert (await client.post(f"{url}/start", headers=lead(application),
                              json={"started_on": "2026-05-12"})).status_code == 200
    assert (await client.put(f"{url}/items/a", headers=lead(application),
                             json={"result": "fail", "note": "缺档案"})).status_code == 200
    finding = (await client.post(f"{url}/findings", headers=lead(application),
                                 json={"item_id": "a", "description": "档案不全"})).json()
    entry = (await client.post(f"{url}/findings/{finding['finding_id']}/rectification", headers=lead(application),
                               json={"responsible_unit": "health", "measures": "补齐档案",
                                     "deadline": "2026-05-30"})).json()
    # Two 600 kB links: the event would be 1.2 MB, over NATS's 1 MiB max_payload.
    huge = "https://example.org/" + "x" * 600_000
    rectification = f"/rectifications/{entry['rectification_id']}"
    refused = await client.post(f"{rectification}/report", headers=lead(application),
                                json={"measures_taken": "已补齐", "evidence": [huge, huge + "2"]})
    assert invalid_fields(refused) == {"evidence.0", "evidence.1"}
    too_many = await client.post(f"{rectification}/report", headers=lead(application),
                                 json={"measures_taken": "已补齐", "evidence": [f"photo://{n}" for n in range(21)]})
    assert invalid_fields(too_many) == {"evidence"}
    one = (await client.get(rectification)).json()
    assert (one["status"], [h["type"] for h in one["history"]]) == ("assigned", ["rectification.assigned"])


async def test_verify_names_a_lookup_row_that_differs_from_its_events(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    """``inspections.township_code`` places an inspection: a row moved to another township is named."""
    application, client = app
    _group_id, inspection = await _inspection(application, client)
    assert (await client.post(f"/inspections/{inspection['inspection_id']}/start", headers=lead(application),
                              json={"started_on": "2026-05-12"})).status_code == 200
    runtime: ServiceRuntime = application.state.runtime
    assert await check_lookup_rows(runtime.engine, VERIFIED) == (2, [])  # the group and the inspection
    async with runtime.engine.begin() as conn:
        await conn.execute(update(inspections).where(
            inspections.c.inspection_id == inspection["inspection_id"]).values(township_code="511403002000"))
    result = await verify_offline(runtime.settings)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (f"first problem: inspections[{inspection['inspection_id']}]: "
                                             f"township_code is '511403002000', its events say '{FENGMING}'")
