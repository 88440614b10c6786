"""The officer's week view in-process: scoped to the officer's township and its villages, refused
elsewhere, and the page and its service worker served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.reporting.bootstrap import build_app
from services.reporting.read_models import PROJECTIONS
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.catalogue import EventPayload, people
from shared.projection import apply_sql
from shared.runtime import ServiceRuntime
from shared.testing.envelopes import envelope_for
from shared.testing.http import app_client, bearer, error_of

pytestmark = pytest.mark.integration

D, T1, T2 = "511403000000", "511403001000", "511403003000"
V1, V2 = "511403001001", "511403003001"
EVENTS: list[EventPayload] = [
    people.OrgUnitEstablished(code=D, name="彭山区", level="district"),
    people.OrgUnitEstablished(code=T1, name="凤鸣街道", level="township", parent_code=D),
    people.OrgUnitEstablished(code=T2, name="青龙街道", level="township", parent_code=D),
    people.OrgUnitEstablished(code=V1, name="一村", level="village", parent_code=T1),
    people.OrgUnitEstablished(code=V2, name="三村", level="village", parent_code=T2),
    *(people.PersonRegistered(person_id=f"p{n}", sealed={"name": "c"}, village_code=v, township_code=t, category=1,
                              grade=2, severe=True, hardship=[], sex="female", birth_year=1970,
                              registered_on=date(2026, 1, 1)) for n, v, t in ((1, V1, T1), (2, V2, T2))),
]


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ReportingSettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                 nats_url="nats://127.0.0.1:1")
    application: FastAPI = build_app(settings)
    async with app_client(application) as http:
        runtime: ServiceRuntime = application.state.runtime
        async with runtime.engine.begin() as conn:
            for payload in EVENTS:
                stream = str(getattr(payload, "person_id", None) or getattr(payload, "code", "s"))
                envelope = envelope_for(payload, stream_id=stream, version=1)
                for projection in PROJECTIONS.projections:
                    if payload.event_type in projection.event_types:
                        await apply_sql(conn, projection.changes(envelope, payload))
        yield application, http


async def test_an_officer_sees_their_township_and_its_villages(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    officer = bearer(application, "township-001", Role.TOWNSHIP_OFFICER, township_code=T1)
    mine = (await client.get("/views/week", headers=officer)).json()
    assert mine["unit"]["code"] == T1
    assert [(r["person_id"], r["version"]) for r in mine["sections"]["not_reached"]["rows"]] == [("p1", 1)]
    village = (await client.get("/views/week", params={"unit": V1}, headers=officer)).json()
    assert (village["unit"]["level"], village["unit"]["township_name"]) == ("village", "凤鸣街道")
    for other in (T2, V2):
        assert error_of(await client.get("/views/week", params={"unit": other}, headers=officer))[:2] == (
            403, "forbidden")


async def test_other_roles_and_unknown_units_are_refused(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    viewer = bearer(application, "viewer", Role.VIEWER)
    admin = bearer(application, "admin", Role.FEDERATION_ADMIN)
    assert error_of(await client.get("/views/week", params={"unit": T1}, headers=viewer))[:2] == (403, "forbidden")
    assert error_of(await client.get("/views/week", headers=admin)) == (422, "invalid", "unit")
    assert error_of(await client.get("/views/week", params={"unit": "511403009000"}, headers=admin))[:2] == (
        404, "not_found")
    assert error_of(await client.get("/views/week", params={"unit": D}, headers=admin)) == (422, "invalid", "unit")
    elsewhere = (await client.get("/views/week", params={"unit": T2}, headers=admin)).json()
    assert elsewhere["sections"]["not_reached"]["total"] == 1


async def test_the_page_and_its_service_worker_are_served(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    page = await client.get("/dash/week")
    assert page.status_code == 200 and 'data-page="week"' in page.text
    worker = await client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["service-worker-allowed"] == "/"
    for name in ("page-week.js", "week-form.js", "week-queue.js", "week-text.js"):
        assert (await client.get(f"/dash/static/{name}")).status_code == 200
