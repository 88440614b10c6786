"""``GET /reminders/mine`` a page at a time: ``limit`` items, ``next_after`` to pass as ``after``
for the next page (keyset: an item delivered meanwhile makes none skipped or repeated); a bad
``after`` or ``limit`` is a 422. The real reporting app over a real database, no NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.reporting.bootstrap import build_app
from services.reporting.projections.plan_items import PLAN_ITEMS
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.db import create_engine
from shared.projection import apply_sql
from shared.testing.envelopes import envelope_for
from shared.testing.http import app_client, bearer

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 10)
TOWNSHIP, VILLAGE = "511403100000", "511403100001"
DUE = {"overdue": -3, "a-today": 0, "b-tomorrow": 1, "c-tomorrow": 1, "d-in-two-days": 2, "later": 20}
"""Item ids and their due day from TODAY (the lead time is 3 days: 'later' is not listed)."""


def _item(item_id: str, days: int) -> ev.PlanItemAdded:
    return ev.PlanItemAdded(plan_id="plan-1", person_id="p1", year=2026, item_id=item_id, kind="protection",
                            need="rehabilitation", responsible_department="health",
                            due_on=TODAY + timedelta(days=days))


async def _apply(database_url: str, events: list[EventPayload]) -> None:
    engine = create_engine(database_url)
    try:
        for version, event in enumerate(events, start=1):
            async with engine.begin() as conn:
                await apply_sql(conn, PLAN_ITEMS.changes(
                    envelope_for(event, version=version, time=datetime(2026, 6, 1, tzinfo=UTC)), event))
    finally:
        await engine.dispose()


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = build_app(ReportingSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                              nats_url="nats://127.0.0.1:1"))
    async with app_client(application) as client:
        await _apply(database_url, [
            ev.PersonRegistered.model_validate({
                "person_id": "p1", "village_code": VILLAGE, "township_code": TOWNSHIP, "sex": "female",
                "birth_year": 1960, "category": 4, "grade": 2, "severe": True, "registered_on": "2020-01-01",
                "sealed": {}}),
            *(_item(item_id, days) for item_id, days in DUE.items())])
        client.headers.update(bearer(application, "health-1", Role.DEPARTMENT_OFFICER, department="health"))
        yield application, client


async def _page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/reminders/mine", params={"today": TODAY.isoformat(), **params})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_pages_follow_one_another_to_the_last(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    whole = await _page(client)
    assert [i["item_id"] for i in whole["items"]] == ["overdue", "a-today", "b-tomorrow", "c-tomorrow", "d-in-two-days"]
    assert whole["next_after"] is None  # all on one page by default

    seen, after, pages = [], None, 0
    while True:
        page = await _page(client, limit=2, **({"after": after} if after else {}))
        seen += [i["item_id"] for i in page["items"]]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
        assert len(page["items"]) == 2
    assert seen == [i["item_id"] for i in whole["items"]] and pages == 3


async def test_an_item_delivered_meanwhile_makes_none_skipped(app: tuple[FastAPI, httpx.AsyncClient],
                                                              database_url: str) -> None:
    _, client = app
    first = await _page(client, limit=2)
    assert [i["item_id"] for i in first["items"]] == ["overdue", "a-today"]
    await _apply(database_url, [ev.PlanItemDelivered(plan_id="plan-1", person_id="p1", year=2026,
                                                     item_id="overdue", delivered_on=TODAY)])
    assert "overdue" not in [i["item_id"] for i in (await _page(client))["items"]]  # delivered: off the list
    second = await _page(client, limit=2, after=first["next_after"])
    assert [i["item_id"] for i in second["items"]] == ["b-tomorrow", "c-tomorrow"]  # an offset of 2 would skip one


@pytest.mark.parametrize("params", [{"after": "not-a-position"}, {"after": "2026-13-01/plan_item/x"},
                                    {"limit": 0}, {"limit": 501}, {"after": "x" * 201}])
async def test_a_bad_page_request_is_a_422(app: tuple[FastAPI, httpx.AsyncClient], params: dict[str, Any]) -> None:
    _, client = app
    response = await client.get("/reminders/mine", params={"today": TODAY.isoformat(), **params})
    assert response.status_code == 422, response.text
