"""Through the real checklists app on a real database (no NATS): every route of its OpenAPI document
refuses a caller without a token (401), answers each role as the access table says, and every
``offset`` and ``today`` parameter answers 422 out of range (2**63, a day in the last week of 9999),
never 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.checklists.application.access import TABLE
from services.checklists.bootstrap import build_app
from services.checklists.settings import ChecklistsSettings
from shared.testing.http import assert_route_bounds

pytestmark = pytest.mark.integration


async def test_out_of_range_offsets_and_days_are_a_422(database_url: str, tmp_path: Path) -> None:
    await assert_route_bounds(build_app(ChecklistsSettings(
        database_url=database_url, data_dir=tmp_path, mode="development", nats_url="nats://127.0.0.1:1")), TABLE)
