"""Reporting's certificate views in-process: status by unit as of a day, and the expiring list."""

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
from shared.catalogue import certificates as cert
from shared.projection import apply_sql
from shared.runtime import ServiceRuntime
from shared.testing.envelopes import envelope_for
from shared.testing.http import app_client, bearer, error_of

pytestmark = pytest.mark.integration

T1, T2 = "511403001000", "511403003000"
V1, V2 = "511403001001", "511403003001"


def _issued(person: str, issued_on: date, valid_until: date, village: str = V1, township: str = T1) -> EventPayload:
    return cert.CertificateIssued(person_id=person, issued_on=issued_on, valid_until=valid_until,
                                  village_code=village, township_code=township)


EVENTS: list[tuple[str, EventPayload]] = [
    ("certificate-valid", _issued("valid", date(2020, 1, 1), date(2029, 12, 31))),
    ("certificate-soon", _issued("soon", date(2016, 7, 1), date(2026, 6, 30))),
    ("certificate-old", _issued("old", date(2015, 1, 1), date(2024, 12, 31))),
    ("certificate-old", cert.CertificateRenewed(person_id="old", issued_on=date(2026, 2, 1),
                                                valid_until=date(2036, 1, 31))),
    ("certificate-moved", _issued("moved", date(2020, 1, 1), date(2029, 12, 31))),
    ("certificate-moved", cert.HouseholdMoveRecorded(person_id="moved", moved_on=date(2025, 10, 1),
                                                     frozen_from=date(2026, 4, 1), cancelled_from=date(2026, 10, 1))),
    ("certificate-gone", _issued("gone", date(2014, 1, 1), date(2023, 12, 31), village=V2, township=T2)),
    ("certificate-relocated", _issued("relocated", date(2010, 1, 1), date(2019, 12, 31))),
    ("person-relocated", people.PersonRelocated(person_id="relocated", from_village_code=V1, village_code=V2,
                                                township_code=T2)),
    ("certificate-dead", _issued("dead", date(2020, 1, 1), date(2029, 12, 31))),
    ("certificate-dead", cert.CertificateCancelled(person_id="dead", reason="died", cancelled_on=date(2026, 3, 1))),
    ("person-dead", people.PersonDeregistered(person_id="dead", reason="died", effective_on=date(2026, 3, 1))),
]


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = ReportingSettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                 nats_url="nats://127.0.0.1:1")
    application: FastAPI = build_app(settings)
    async with app_client(application) as http:
        runtime: ServiceRuntime = application.state.runtime
        versions: dict[str, int] = {}
        async with runtime.engine.begin() as conn:  # what the consumer would apply from the registry's stream
            for stream_id, payload in EVENTS:
                versions[stream_id] = versions.get(stream_id, 0) + 1
                envelope = envelope_for(payload, stream_id=stream_id, version=versions[stream_id])
                for projection in PROJECTIONS.projections:
                    if payload.event_type in projection.event_types:
                        await apply_sql(conn, projection.changes(envelope, payload))
        http.headers.update(bearer(application, "viewer", Role.VIEWER))
        yield http


async def test_status_by_township_changes_with_the_day(client: httpx.AsyncClient) -> None:
    # The deregistered person ("dead") is not counted; "relocated" counts in T2, where it moved.
    march = {u["code"]: u for u in (await client.get("/certificates", params={"today": "2026-03-15"})).json()}
    assert march[T1] == {"code": T1, "valid": 4, "frozen": 0, "cancelled": 0, "expired": 0, "expiring": 0}
    assert march[T2] == {"code": T2, "valid": 0, "frozen": 0, "cancelled": 0, "expired": 2, "expiring": 0}
    may = {u["code"]: u for u in (await client.get("/certificates", params={"today": "2026-05-01"})).json()}
    assert (may[T1]["valid"], may[T1]["frozen"], may[T1]["expiring"]) == (3, 1, 1)
    autumn = {u["code"]: u for u in (await client.get("/certificates", params={"today": "2026-10-01"})).json()}
    assert (autumn[T1]["valid"], autumn[T1]["cancelled"], autumn[T1]["expired"]) == (2, 1, 1)


async def test_villages_of_one_township(client: httpx.AsyncClient) -> None:
    villages = (await client.get("/certificates", params={"today": "2026-03-15", "township_code": T2})).json()
    assert [(v["code"], v["expired"]) for v in villages] == [(V2, 2)]


async def test_expiring_within_days(client: httpx.AsyncClient) -> None:
    soon = (await client.get("/certificates/expiring", params={"today": "2026-04-15"})).json()
    assert [(c["person_id"], c["valid_until"]) for c in soon] == [("soon", "2026-06-30")]
    assert (await client.get("/certificates/expiring", params={"today": "2026-04-15", "within_days": 30})).json() == []
    assert error_of(await client.get("/certificates/expiring", params={"within_days": -1}))[:2] == (422, "invalid")


def test_certificate_events_reach_the_audit_history() -> None:
    audit = PROJECTIONS.named("audit_registry")
    assert {"certificate.issued", "certificate.cancelled", "person.registered"} <= audit.event_types
