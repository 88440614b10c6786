"""A checklists instance's routes in-process: the real app over a real database, no NATS."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from services.checklists.adapters.tables import departments, tasks
from services.checklists.application.lookup_rows import VERIFIED
from services.checklists.bootstrap import build_app
from services.checklists.settings import ChecklistsSettings
from shared.auth import Role
from shared.eventstore.lookup_check import check_lookup_rows
from shared.runtime import ServiceRuntime
from shared.testing.http import app_client, bearer, error_of, invalid_fields, undocumented_responses
from shared.testing.verify import verify_offline

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 20)
TASK = {"title": "残疾人家庭医生签约", "description": "签约率达到 90%", "responsible_department": "health",
        "metric": "签约人数", "unit": "人", "target_value": 10, "issued_on": "2026-03-01", "deadline": "2026-03-25"}


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ChecklistsSettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                  nats_url="nats://127.0.0.1:1", hosted_departments="health")
    application = build_app(settings)
    application.state.deps = dataclasses.replace(application.state.deps, today=lambda: TODAY)
    async with app_client(application) as client:
        runtime: ServiceRuntime = application.state.runtime
        async with runtime.engine.begin() as conn:  # what the registry's events would have taught it
            await conn.execute(departments.insert(), [{"code": "federation", "name": "残联"},
                                                      {"code": "health", "name": "卫健局"}])
        client.headers.update(bearer(application, "admin", Role.FEDERATION_ADMIN))
        yield application, client


def health(application: FastAPI) -> dict[str, str]:
    return bearer(application, "doc", Role.DEPARTMENT_OFFICER, department="health")


async def _task(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    listed = await client.post("/task-lists", json={"month": "2026-03", "title": "三月清单", "issued_on": "2026-03-01"})
    assert listed.status_code in (201, 409), listed.text
    response = await client.post("/task-lists/2026-03/tasks", json={**TASK, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_route_needs_a_valid_token(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    for path in ("/instance", "/tasks", "/task-lists", "/templates", "/highlights", "/publicity"):
        assert error_of(await client.get(path, headers={"Authorization": ""})) == (401, "unauthenticated", None)


async def test_only_the_issuer_issues_and_only_the_department_reports(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    refused = await client.post("/task-lists", json={"month": "2026-03", "title": "x"}, headers=health(application))
    assert error_of(refused)[:2] == (403, "forbidden")
    task = await _task(client)
    other = bearer(application, "teacher", Role.DEPARTMENT_OFFICER, department="education")
    progress = {"value_reached": 3, "reported_on": "2026-03-10"}
    assert error_of(await client.post(f"/tasks/{task['task_id']}/progress", json=progress, headers=other))[:2] == (
        403, "forbidden")
    viewer = bearer(application, "v", Role.VIEWER)
    assert error_of(await client.post(f"/tasks/{task['task_id']}/progress", json=progress, headers=viewer))[:2] == (
        403, "forbidden")
    assert (await client.get(f"/tasks/{task['task_id']}")).json()["work_version"] == 0  # nothing was written


async def test_a_task_reads_back_with_iso_dates_and_clock_derived_flags(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    task = await _task(client)
    assert (task["issued_on"], task["deadline"], task["status"], task["due_soon"]) == (
        "2026-03-01", "2026-03-25", "open", True)
    reported = await client.post(f"/tasks/{task['task_id']}/progress", headers=health(application),
                                 json={"value_reached": 4, "note": "首批", "evidence": ["photo://1"],
                                       "reported_on": "2026-03-10"})
    assert reported.status_code == 200, reported.text
    extended = await client.post(f"/tasks/{task['task_id']}/deadline-extension",
                                 json={"new_deadline": "2026-04-10", "reason": "春节"})
    assert extended.status_code == 200, extended.text
    detail = (await client.get(f"/tasks/{task['task_id']}", params={"today": "2026-04-11"})).json()
    assert (detail["deadline"], detail["overdue"], detail["due_soon"], detail["progress"]) == (
        "2026-04-10", True, False, 0.4)
    assert (detail["last_reported_on"], detail["completed_on"], detail["cancelled_on"]) == ("2026-03-10", None, None)
    assert detail["reports"] == [{"value_reached": 4.0, "note": "首批", "evidence": ["photo://1"],
                                  "reported_on": "2026-03-10", "reported_by": "doc"}]
    assert detail["deadline_extensions"] == [{"previous_deadline": "2026-03-25", "new_deadline": "2026-04-10",
                                              "reason": "春节", "extended_on": "2026-03-20", "extended_by": "admin"}]
    assert sorted(detail["streams"].values()) == [1, 2]
    listed = (await client.get("/tasks", params={"overdue": True, "today": "2026-04-11"})).json()
    assert [t["task_id"] for t in listed] == [task["task_id"]]
    assert {k: v for k, v in detail.items() if k in listed[0]} == listed[0]
    month = (await client.get("/task-lists/2026-03")).json()
    assert (month["issued_on"], [t["task_id"] for t in month["tasks"]]) == ("2026-03-01", [task["task_id"]])
    assert (await client.get("/task-lists")).json() == [{k: v for k, v in month.items() if k != "tasks"}]
    history = (await client.get(f"/tasks/{task['task_id']}/history")).json()
    assert [(s["version"], s["chain_intact"], s["copy"]) for s in history["streams"]] == [(2, True, False),
                                                                                          (1, True, False)]


async def test_unknown_things_are_404(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    for path in ("/tasks/nope", "/task-lists/2026-01", "/highlights/nope", "/templates/nope"):
        assert error_of(await client.get(path))[:2] == (404, "not_found"), path
    assert error_of(await client.post("/task-lists/2026-01/tasks", json=TASK))[:2] == (404, "not_found")


async def test_a_stale_expected_version_is_409(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    task = await _task(client)
    url = f"/tasks/{task['task_id']}/progress"
    first = await client.post(url, headers=health(application), json={"value_reached": 1, "expected_version": 0})
    assert first.status_code == 200, first.text
    stale = await client.post(url, headers=health(application), json={"value_reached": 2, "expected_version": 0})
    assert error_of(stale)[:2] == (409, "version_conflict")
    assert (await client.get(f"/tasks/{task['task_id']}")).json()["value_reached"] == 1.0


async def test_bad_input_is_422_naming_the_field(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    await client.post("/task-lists", json={"month": "2026-03", "title": "三月清单", "issued_on": "2026-03-01"})
    unknown = await client.post("/task-lists/2026-03/tasks", json={**TASK, "responsible_department": "police"})
    assert error_of(unknown) == (422, "invalid", "responsible_department")
    assert invalid_fields(await client.post("/task-lists/2026-03/tasks", json={**TASK, "target_value": 0})) == {
        "target_value"}
    assert invalid_fields(await client.get("/task-lists/2026-13")) == {"path.month"}
    assert invalid_fields(await client.get("/tasks", params={"status": "lost"})) == {"query.status"}
    assert (await client.get("/tasks")).json() == []  # nothing was written


async def test_templates_highlights_and_publicity_read_back(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    item = {"item_id": "a", "text": "台账齐全", "guidance": "", "weight": 1.0, "evidence_required": False}
    published = await client.post("/templates/tpl-1/versions",
                                  json={"title": "检查清单", "items": [item], "published_on": "2026-03-02"})
    assert published.status_code == 201, published.text
    template = (await client.get("/templates/tpl-1")).json()
    assert template["versions"] == [{"version": 1, "title": "检查清单", "published_on": "2026-03-02",
                                     "items": [item]}]
    assert (await client.get("/templates")).json()[0]["published_on"] == "2026-03-02"
    highlight = (await client.post("/highlights", headers=health(application), json={
        "title": "上门签约", "description": "全覆盖", "tags": ["签约"], "evidence": ["photo://2"],
        "submitted_on": "2026-03-05"})).json()
    assert (highlight["submitted_on"], highlight["status"], highlight["approved_on"]) == (
        "2026-03-05", "submitted", None)
    approved = (await client.post(f"/highlights/{highlight['highlight_id']}/approval", json={})).json()
    assert (approved["status"], approved["approved_on"]) == ("approved", "2026-03-20")
    assert (await client.get("/highlights", params={"status": "approved"})).json() == [approved]
    item_out = (await client.post("/publicity", headers=health(application), json={
        "title": "报道", "channel": "电视台", "published_on": "2026-03-06",
        "highlight_id": highlight["highlight_id"]})).json()
    assert item_out["published_on"] == "2026-03-06"
    assert (await client.get("/publicity")).json() == [item_out]
    instance = (await client.get("/instance")).json()
    assert instance == {"department": "federation", "issuer_department": "federation", "is_issuer": True,
                        "serves": ["federation", "health"]}
    assert (await client.get("/departments")).json() == [{"code": "federation", "name": "残联"},
                                                          {"code": "health", "name": "卫健局"}]


async def test_every_route_documents_its_response(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, _ = app
    assert undocumented_responses(application) == []


async def test_a_template_draft_too_large_for_one_event_is_422_and_writes_nothing(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = app
    # 90 items, each field within its own limit, long Chinese guidance: about 0.8 MB as one event,
    # over QD_MAX_EVENT_BYTES (256 KiB) and near NATS's 1 MiB max_payload.
    items = [{"item_id": f"i{n}", "text": "台账齐全" * 250, "guidance": "查阅档案并入户核实" * 222,
              "weight": 1.0, "evidence_required": False} for n in range(90)]
    refused = await client.put("/templates/tpl-big/draft", json={"title": "检查清单", "items": items})
    assert error_of(refused) == (422, "invalid", "items")
    assert "over the limit of 262144 bytes" in refused.json()["message"]
    assert (await client.get("/templates/tpl-big")).status_code == 404  # nothing was written
    fits = await client.put("/templates/tpl-big/draft", json={"title": "检查清单", "items": items[:20]})
    assert fits.status_code == 200, fits.text


async def test_verify_names_a_lookup_row_that_differs_from_its_events(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    """``tasks.responsible_department`` decides who may report on a task: a moved row is named."""
    application, client = app
    task = await _task(client)
    assert (await client.post(f"/tasks/{task['task_id']}/progress", headers=health(application),
                              json={"value_reached": 4, "reported_on": "2026-03-10"})).status_code == 200
    highlight = await client.post("/highlights", headers=health(application), json={
        "title": "上门签约", "description": "全覆盖", "evidence": ["photo://1"], "submitted_on": "2026-03-05"})
    assert highlight.status_code == 201, highlight.text
    assert (await client.put("/templates/tpl-1/draft", json={"title": "清单", "items": [
        {"item_id": "a", "text": "档案齐全", "weight": 1}]})).status_code == 200
    runtime: ServiceRuntime = application.state.runtime
    checked, problems = await check_lookup_rows(runtime.engine, VERIFIED)
    assert (checked, problems) == (5, [])  # the list, the task, its work, the highlight, the template
    async with runtime.engine.begin() as conn:
        await conn.execute(update(tasks).where(tasks.c.task_id == task["task_id"]).values(
            responsible_department="federation"))
    settings = runtime.settings
    result = await verify_offline(settings, QD_HOSTED_DEPARTMENTS="health")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (f"first problem: tasks[{task['task_id']}]: responsible_department is "
                                             "'federation', its events say 'health'")
