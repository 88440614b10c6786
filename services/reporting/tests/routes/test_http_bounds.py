"""Through the real reporting app on a real database (no NATS): every route of its OpenAPI document
refuses a caller without a token (401), and every ``offset`` and ``today`` parameter answers 422
out of range (2**63, a day in the last week of 9999), never 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.reporting.bootstrap import build_app
from services.reporting.settings import ReportingSettings
from shared.auth import Role
from shared.testing.http import (
    anonymous_answers,
    app_client,
    bounded_parameters,
    out_of_range_answers,
    principal_bearer,
    read_answers_by_role,
)
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

STAFF = {role: principal(f"{role.value}-1", role, township_code="511403100000") for role in Role}
RESTRICTED_READS = {"GET /views/history/{entity_id}": {Role.FEDERATION_ADMIN, Role.AUDITOR},
                    "GET /reminders/sent": {Role.FEDERATION_ADMIN}}
"""The reads not open to every role (docs/reporting.md); every other read answers every role."""


async def test_out_of_range_offsets_and_days_are_a_422(database_url: str, tmp_path: Path) -> None:
    app = build_app(ReportingSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                    nats_url="nats://127.0.0.1:1"))
    async with app_client(app) as client:
        assert await out_of_range_answers(app, client, principal("admin")) == []
        assert await anonymous_answers(app, client) == []  # and no route answers without a token
        assert await read_answers_by_role(app, client, STAFF, RESTRICTED_READS, streams=frozenset({"GET /live"})) == []
    assert bounded_parameters(app)  # the app has such parameters: the search does find them


async def test_the_widest_expiry_window_on_the_last_day_answers(database_url: str, tmp_path: Path) -> None:
    """The latest ``today`` plus the widest ``within_days`` reaches past 9999-12-31: still an answer."""
    app = build_app(ReportingSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                    nats_url="nats://127.0.0.1:1"))
    async with app_client(app) as client:
        headers = principal_bearer(app, principal("admin"))
        for path in ("/certificates", "/certificates/expiring"):
            response = await client.get(path, params={"today": "9998-12-31", "within_days": 3660}, headers=headers)
            assert response.status_code == 200, (path, response.text)
