"""Out-of-range paging and dates answer 422, never 500: every `offset` and `today` parameter of
the reporting app's OpenAPI document, asked through the real app on a real database (no NATS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.reporting.bootstrap import build_app
from services.reporting.settings import ReportingSettings
from shared.testing.asgi import bounded_parameters, out_of_range_answers, serving
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration


async def test_out_of_range_offsets_and_days_are_a_422(database_url: str, tmp_path: Path) -> None:
    app = build_app(ReportingSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                    nats_url="nats://127.0.0.1:1"))
    async with serving(app) as client:
        assert await out_of_range_answers(app, client, principal("admin")) == []
    assert bounded_parameters(app)  # the app has such parameters: the search does find them
