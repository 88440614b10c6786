"""Every route of the reporting service against every role, the expected statuses from its access
table (``services/reporting/access.py``, shown in docs/reporting.md), over read models fed by the
real projections so that every allowed read answers 200 (not a 404 for want of data).

The routes come from the app's OpenAPI document, so a new route fails here until it has a row and
a cell. ``GET /live`` never ends: it is only asked without a token (``anonymous_answers``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.reporting.access import TABLE, markdown_table
from services.reporting.bootstrap import build_app
from services.reporting.read_models import PROJECTIONS
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.catalogue import EventPayload, people, supervision, worklists
from shared.projection import apply_sql
from shared.runtime import ServiceRuntime
from shared.testing.access import MakeCell, answers_by_role, fixed, unlisted_routes
from shared.testing.envelopes import envelope_for
from shared.testing.http import anonymous_answers, app_client
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

DISTRICT, FENGMING, VILLAGE = "511403000000", "511403001000", "511403001001"
STAFF = {role: principal(f"{role.value}-1", role, department="health", township_code=FENGMING) for role in Role}
INSPECTION: dict[str, Any] = {"inspection_id": "i1", "group_id": "g1", "target_kind": "township",
                              "target_code": FENGMING, "township_code": FENGMING}
RECTIFICATION: dict[str, Any] = {
    "rectification_id": "rect-f1", "number": "ZG-2026-0001", "finding_id": "f1", "inspection_id": "i1",
    "group_id": "g1", "township_code": FENGMING, "responsible_unit": "health", "deadline": date(2026, 6, 30)}
EVENTS: list[tuple[str, EventPayload]] = [
    ("orgunit-d", people.OrgUnitEstablished(code=DISTRICT, name="彭山区", level="district")),
    ("orgunit-t", people.OrgUnitEstablished(code=FENGMING, name="凤鸣街道", level="township", parent_code=DISTRICT)),
    ("orgunit-v", people.OrgUnitEstablished(code=VILLAGE, name="一村", level="village", parent_code=FENGMING)),
    ("person-p1", people.PersonRegistered(
        person_id="p1", sealed={}, village_code=VILLAGE, township_code=FENGMING, category=4,
        grade=1, severe=True, sex="male", birth_year=1980, registered_on=date(2026, 1, 5))),
    ("inspection-i1", supervision.InspectionScheduled(**INSPECTION, target_name="凤鸣街道", template_id="tpl-1",
                                                      template_version=1, scheduled_on=date(2026, 5, 10))),
    ("rectification-rect-f1", supervision.RectificationAssigned(
        **RECTIFICATION, target_kind="township", target_code=FENGMING, target_name="凤鸣街道", problem="档案缺失",
        measures="补齐档案", assigned_on=date(2026, 5, 20))),
    ("highlight-h1", worklists.HighlightSubmitted(highlight_id="h1", department="health", title="上门签约",
                                                  description="全覆盖", evidence=["photo://1"],
                                                  submitted_on=date(2026, 3, 5))),
]
CELLS: dict[str, MakeCell] = {
    **{f"GET {path}": fixed(path) for path in (
        "/certificates", "/certificates/expiring", "/rectifications", "/rectifications/overdue",
        "/inspections/scores", "/inspections/open-findings", "/tasks", "/tasks/summary", "/tasks/scoreboard",
        "/highlights", "/publicity", "/views/coverage", "/views/coverage/persons", "/views/worklist",
        "/views/scoreboards", "/views/ledger", "/views/highlights", "/views/live-stats")},
    "GET /coverage": fixed("/coverage?year=2026"),
    "GET /rehabilitation": fixed("/rehabilitation?year=2026"),
    "GET /views/rehabilitation": fixed("/views/rehabilitation?year=2026"),
    "GET /rectifications/ledger.{extension}": fixed("/rectifications/ledger.csv"),
    "GET /rectifications/{rectification_id}": fixed("/rectifications/rect-f1"),
    "GET /views/history/{entity_id}": fixed("/views/history/rect-f1"),
    "GET /views/week": fixed(f"/views/week?unit={VILLAGE}"),
    "GET /reminders/mine": fixed("/reminders/mine"),
    "GET /reminders/sent": fixed("/reminders/sent"),
}
"""How to exercise each route (the public ones, and the never-ending ``GET /live``, need no cell)."""


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = build_app(ReportingSettings(data_dir=tmp_path, database_url=database_url, mode="development",
                                              nats_url="nats://127.0.0.1:1"))
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
        yield application, client


async def test_every_route_answers_every_role_as_the_access_table_says(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    assert unlisted_routes(application, TABLE.routes(), CELLS, public=set(TABLE.public),
                           uncalled={"GET /live"}) == []
    assert await answers_by_role(application, client, CELLS, STAFF, TABLE.allows) == []
    assert await anonymous_answers(application, client) == []  # GET /live included


def test_docs_show_the_access_table() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "reporting.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, "regenerate the table: python -m services.reporting access-table"
