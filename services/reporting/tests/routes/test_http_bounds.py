"""Through the real reporting app on a real database (no NATS): every route of its OpenAPI document
refuses a caller without a token (401), answers each role as the access table says, and every
``offset`` and ``today`` parameter answers 422 out of range (2**63, a day in the last week of 9999),
never 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.reporting.access import TABLE
from services.reporting.bootstrap import build_app
from services.reporting.settings import ReportingSettings
from shared.testing.http import app_client, assert_route_bounds, principal_bearer
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration


async def test_out_of_range_offsets_and_days_are_a_422(database_url: str, tmp_path: Path) -> None:
    await assert_route_bounds(build_app(ReportingSettings(
        database_url=database_url, data_dir=tmp_path, mode="development", nats_url="nats://127.0.0.1:1")),
        TABLE, streams=frozenset({"GET /live"}))


async def test_the_widest_expiry_window_on_the_last_day_answers(database_url: str, tmp_path: Path) -> None:
    """The latest ``today`` plus the widest ``within_days`` reaches past 9999-12-31: still an answer."""
    app = build_app(ReportingSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                    nats_url="nats://127.0.0.1:1"))
    async with app_client(app) as client:
        headers = principal_bearer(app, principal("admin"))
        for path in ("/certificates", "/certificates/expiring"):
            response = await client.get(path, params={"today": "9998-12-31", "within_days": 3660}, headers=headers)
            assert response.status_code == 200, (path, response.text)
