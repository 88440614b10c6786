"""Certificate life-cycle routes in-process: issue, status on the person, renew, reissue, move, cancel, expiring."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.registry.settings import RegistrySettings
from shared.auth import Role
from shared.testing.http import bearer, error_of, invalid_fields

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "511403000000", "511403001000", "511403003000"
VILLAGE = "511403001001"


def certificate_number(sequence: int = 123, category: int = 4, grade: int = 2) -> str:
    """A valid certificate number of a person born 1980-05-17 in Pengshan."""
    first17 = f"51140319800517{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return f"{first17}{check}{category}{grade}"


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> RegistrySettings:
    """Certificates freeze 3 months and are cancelled 9 months after their expiry."""
    return RegistrySettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                            nats_url="nats://127.0.0.1:1", certificate_freeze_after_months=3,
                            certificate_cancel_after_months=9)


async def _person(client: httpx.AsyncClient, sequence: int, issued_on: date) -> str:
    response = await client.post("/persons", json={"certificate_number": certificate_number(sequence),
                                                   "name": "张三", "village_code": VILLAGE})
    assert response.status_code == 201, response.text
    person_id: str = response.json()["person_id"]
    issued = await client.post(f"/persons/{person_id}/certificate", json={"issued_on": issued_on.isoformat()})
    assert issued.status_code == 201, issued.text
    return person_id


async def _certificate(client: httpx.AsyncClient, person_id: str) -> dict[str, Any]:
    response = await client.get(f"/persons/{person_id}/certificate")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _years_ago(years: int, days: int = 0) -> date:
    today = date.today()
    return date(today.year - years, today.month, min(today.day, 28)) + timedelta(days=days)


async def test_issue_then_status_on_the_person(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = await _person(client, 1, _years_ago(3))
    certificate = await _certificate(client, person_id)
    assert certificate["status"] == "valid" and certificate["suffix"] == ""
    again = await client.post(f"/persons/{person_id}/certificate", json={"issued_on": "2020-01-01"})
    assert error_of(again) == (409, "already_exists", "issued_on")


async def test_expired_then_renewed(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = await _person(client, 2, _years_ago(11))
    assert (await _certificate(client, person_id))["status"] == "expired"
    renewed = await client.post(f"/persons/{person_id}/certificate/renewal",
                                json={"issued_on": date.today().isoformat(), "expected_version": 1})
    assert renewed.status_code == 200, renewed.text
    assert (await _certificate(client, person_id))["status"] == "valid"
    stale = await client.post(f"/persons/{person_id}/certificate/reissue",
                              json={"issued_on": date.today().isoformat(), "expected_version": 1})
    assert error_of(stale)[:2] == (409, "version_conflict")


async def test_reissue_counts_suffixes(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = await _person(client, 3, _years_ago(2))
    for _ in range(2):
        response = await client.post(f"/persons/{person_id}/certificate/reissue",
                                     json={"issued_on": date.today().isoformat()})
        assert response.status_code == 200, response.text
    assert (await _certificate(client, person_id))["suffix"] == "B2"


async def test_household_move_freezes_with_the_configured_period(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = await _person(client, 4, _years_ago(2))
    moved = await client.post(f"/persons/{person_id}/certificate/household-move",
                              json={"moved_on": (date.today() - timedelta(days=120)).isoformat()})
    assert moved.status_code == 200, moved.text
    assert (await _certificate(client, person_id))["status"] == "frozen"  # 3 months configured
    frozen = (await client.get("/certificates", params={"status": "frozen"})).json()
    assert [c["person_id"] for c in frozen] == [person_id]
    lifted = await client.post(f"/persons/{person_id}/certificate/transfer",
                               json={"transferred_on": date.today().isoformat()})
    assert lifted.status_code == 200
    assert (await _certificate(client, person_id))["status"] == "valid"


async def test_cancelled_shows_and_refuses_renewal(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = await _person(client, 5, _years_ago(2))
    cancelled = await client.post(f"/persons/{person_id}/certificate/cancellation",
                                  json={"reason": "standard_not_met"})
    assert cancelled.status_code == 200
    assert (await _certificate(client, person_id))["status"] == "cancelled"
    refused = await client.post(f"/persons/{person_id}/certificate/renewal",
                                json={"issued_on": date.today().isoformat()})
    assert error_of(refused)[:2] == (409, "rule_violated")


async def test_expiring_within_90_days_are_listed(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    soon = await _person(client, 6, _years_ago(10, days=30))
    await _person(client, 7, _years_ago(3))
    await _person(client, 8, _years_ago(11))  # already expired: not "expiring"
    listed = (await client.get("/certificates/expiring")).json()
    assert [c["person_id"] for c in listed] == [soon]
    assert listed[0]["township_code"] == TOWNSHIP


async def test_bad_input_and_scope(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    person_id = await _person(client, 9, _years_ago(1))
    future = (date.today() + timedelta(days=1)).isoformat()
    assert error_of(await client.post(f"/persons/{person_id}/certificate/reissue", json={"issued_on": future})
                    )[:3] == (422, "invalid", "issued_on")
    assert "reason" in invalid_fields(await client.post(f"/persons/{person_id}/certificate/cancellation",
                                                        json={"reason": "bored"}))
    elsewhere = bearer(application, "t3", Role.TOWNSHIP_OFFICER, township_code=OTHER_TOWNSHIP)
    assert error_of(await client.post(f"/persons/{person_id}/certificate/cancellation", json={"reason": "other"},
                                      headers=elsewhere))[:2] == (403, "forbidden")
    assert error_of(await client.get("/persons/nobody/certificate"))[:2] == (404, "not_found")
    assert (await _certificate(client, person_id))["status"] == "valid"  # nothing was written
