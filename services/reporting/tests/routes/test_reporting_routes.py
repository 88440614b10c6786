"""The reporting service's JSON routes in-process: the real app over read models fed by real projections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.reporting.bootstrap import build_app
from services.reporting.read_models import PROJECTIONS
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.catalogue import EventPayload, people, supervision, worklists
from shared.projection import apply_sql
from shared.runtime import ServiceRuntime
from shared.testing.envelopes import envelope_for
from shared.testing.http import OPERATIONS, app_client, bearer, error_of, invalid_fields, undocumented_responses

pytestmark = pytest.mark.integration

DISTRICT, FENGMING, VILLAGE = "511403000000", "511403001000", "511403001001"
INSPECTION: dict[str, Any] = {"inspection_id": "i1", "group_id": "g1", "target_kind": "township",
                              "target_code": FENGMING, "township_code": FENGMING}
RECTIFICATION: dict[str, Any] = {
    "rectification_id": "rect-f1", "number": "ZG-2026-0001", "finding_id": "f1", "inspection_id": "i1",
    "group_id": "g1", "township_code": FENGMING, "responsible_unit": "health", "deadline": date(2026, 6, 30)}
TASK = {"task_id": "t1", "month": "2026-03", "responsible_department": "health"}

EVENTS: list[tuple[str, EventPayload]] = [
    ("orgunit-d", people.OrgUnitEstablished(code=DISTRICT, name="彭山区", level="district")),
    ("orgunit-t", people.OrgUnitEstablished(code=FENGMING, name="凤鸣街道", level="township", parent_code=DISTRICT)),
    ("orgunit-v", people.OrgUnitEstablished(code=VILLAGE, name="一村", level="village", parent_code=FENGMING)),
    ("person-p1", people.PersonRegistered(
        person_id="p1", sealed={}, village_code=VILLAGE, township_code=FENGMING, category=4,
        grade=1, severe=True, sex="male", birth_year=1980, registered_on=date(2026, 1, 5))),
    ("group-g1", supervision.GroupFormed(group_id="g1", name="第一督导组", leader="lead", members=["lead"],
                                         township_codes=[FENGMING], unit_codes=["health"])),
    ("inspection-i1", supervision.InspectionScheduled(**INSPECTION, target_name="凤鸣街道", template_id="tpl-1",
                                                      template_version=1, scheduled_on=date(2026, 5, 10))),
    ("inspection-i1", supervision.InspectionStarted(**INSPECTION, started_on=date(2026, 5, 12))),
    ("inspection-i1", supervision.InspectionCompleted(
        **INSPECTION, target_name="凤鸣街道", template_id="tpl-1", template_version=1, completed_on=date(2026, 5, 19),
        score=87.5, items_passed=7, items_failed=1, items_not_applicable=0, focus_checks=0,
        focus_checks_with_issues=0, findings=1, item_results={"a": "pass", "b": "fail"})),
    ("rectification-rect-f1", supervision.RectificationAssigned(
        **RECTIFICATION, target_kind="township", target_code=FENGMING, target_name="凤鸣街道", problem="档案缺失",
        measures="补齐档案", assigned_on=date(2026, 5, 20))),
    ("task-t1", worklists.TaskIssued(
        **TASK, list_id="tasklist-federation-2026-03", issuer_department="federation", title="签约", description="d",
        metric="签约人数", unit="人", target_value=10, complete_when_target_reached=False,
        issued_on=date(2026, 3, 1), deadline=date(2026, 3, 25))),
    ("taskwork-t1", worklists.TaskProgressReported(**TASK, value_reached=6, target_value=10,
                                                   reported_on=date(2026, 3, 10))),
    ("highlight-h1", worklists.HighlightSubmitted(highlight_id="h1", department="health", title="上门签约",
                                                  description="全覆盖", evidence=["photo://1"],
                                                  submitted_on=date(2026, 3, 5))),
]


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ReportingSettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                 nats_url="nats://127.0.0.1:1")
    application = build_app(settings)
    async with app_client(application) as client:
        runtime: ServiceRuntime = application.state.runtime
        versions: dict[str, int] = {}
        async with runtime.engine.begin() as conn:  # what the consumers would apply from the sources' streams
            for stream_id, payload in EVENTS:
                versions[stream_id] = versions.get(stream_id, 0) + 1
                envelope = envelope_for(payload, stream_id=stream_id, version=versions[stream_id])
                for projection in PROJECTIONS.projections:
                    if payload.event_type in projection.event_types:
                        await apply_sql(conn, projection.changes(envelope, payload))
        client.headers.update(bearer(application, "viewer", Role.VIEWER))
        yield application, client


async def test_every_view_needs_a_valid_token(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    for path in ("/coverage?year=2026", "/rectifications", "/tasks", "/tasks/scoreboard", "/highlights"):
        assert error_of(await client.get(path, headers={"Authorization": ""})) == (401, "unauthenticated", None)


async def test_coverage_rolls_up_with_children_only_to_the_depth_asked(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = app
    district = (await client.get("/coverage", params={"year": 2026, "depth": 1})).json()
    assert (district["code"], district["year"], district["all"]["registered"], district["severe"]["registered"]) == (
        DISTRICT, 2026, 1, 1)
    assert district["all"]["visited_rate"] == 0.0 and district["hardship"]["visited_rate"] is None
    (township,) = district["children"]
    assert township["code"] == FENGMING and "children" not in township
    assert district["positions"] == {}  # no consumers in this test
    assert "children" not in (await client.get("/coverage", params={"year": 2026, "depth": 0})).json()


async def test_the_ledger_and_inspection_views_give_days_as_iso_dates(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    ledger = (await client.get("/rectifications", params={"today": "2026-07-02"})).json()
    assert (ledger["today"], ledger["count"]) == ("2026-07-02", 1)
    (entry,) = ledger["entries"]
    assert (entry["deadline"], entry["assigned_on"], entry["overdue"], entry["days_overdue"]) == (
        "2026-06-30", "2026-05-20", True, 2)
    assert entry["source_inspection"]["inspected_on"] == "2026-05-12"
    assert [(h["kind"], h["on"], h["deadline"]) for h in entry["history"]] == [("opened", "2026-05-20", "2026-06-30")]
    one = (await client.get("/rectifications/rect-f1", params={"today": "2026-07-02"})).json()
    assert one == entry
    overdue = (await client.get("/rectifications/overdue", params={"today": "2026-07-02"})).json()
    assert (overdue["today"], overdue["open"], overdue["overdue"]) == ("2026-07-02", 1, 1)
    assert overdue["by_unit"][0]["oldest_overdue_deadline"] == "2026-06-30"
    scores = (await client.get("/inspections/scores")).json()
    (township,) = scores["townships"]
    assert (township["average_score"], township["inspections_list"][0]["completed_on"]) == (87.5, "2026-05-19")
    findings = (await client.get("/inspections/open-findings", params={"today": "2026-07-02"})).json()
    assert findings["today"] == "2026-07-02" and findings["groups"][0]["group_id"] == "g1"
    csv = await client.get("/rectifications/ledger.csv", params={"today": "2026-07-02"})
    assert csv.status_code == 200 and "ZG-2026-0001" in csv.content.decode("utf-8-sig")


async def test_task_views_judge_overdue_as_of_today(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    tasks = (await client.get("/tasks", params={"today": "2026-03-26"})).json()
    assert (tasks["today"], tasks["count"]) == ("2026-03-26", 1)
    (task,) = tasks["tasks"]
    assert (task["issued_on"], task["deadline"], task["last_reported_on"], task["overdue"], task["progress"]) == (
        "2026-03-01", "2026-03-25", "2026-03-10", True, 0.6)
    summary = (await client.get("/tasks/summary", params={"today": "2026-03-26"})).json()
    assert (summary["total"]["tasks"], summary["total"]["overdue"]) == (1, 1)
    assert summary["by_month_and_department"][0]["responsible_department"] == "health"
    board = (await client.get("/tasks/scoreboard", params={"today": "2026-03-26", "month": "2026-03"})).json()
    assert (board["month"], board["departments"][0]["department"], board["departments"][0]["rank"]) == (
        "2026-03", "health", 1)
    (highlight,) = (await client.get("/highlights")).json()
    assert (highlight["submitted_on"], highlight["approved_on"], highlight["publicity"]) == ("2026-03-05", None, [])
    assert (await client.get("/publicity")).json() == []


async def test_unknown_entries_are_404_and_bad_queries_422(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    assert error_of(await client.get("/rectifications/nope"))[:2] == (404, "not_found")
    assert error_of(await client.get("/coverage", params={"year": 2026, "unit": "511403009000"}))[:2] == (
        404, "not_found")
    assert invalid_fields(await client.get("/coverage")) == {"query.year"}
    assert invalid_fields(await client.get("/tasks", params={"month": "2026-3"})) == {"query.month"}
    assert invalid_fields(await client.get("/rectifications", params={"today": "yesterday"})) == {"query.today"}


async def test_every_json_route_documents_its_response(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, _ = app
    # The dashboards' cached views (tag "dashboards") serve the web UI, not this JSON API; the ledger file is a file.
    dashboards = {path for path, operations in application.openapi()["paths"].items()
                  if any("dashboards" in o.get("tags", []) for o in operations.values())}
    undocumented = undocumented_responses(application, except_paths=OPERATIONS | dashboards)
    assert undocumented == ["GET /rectifications/ledger.{extension}"]
