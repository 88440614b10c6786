"""Every route of the inspections app's OpenAPI document refuses a caller without a token (401),
through the real app on a real database (no NATS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.inspections.bootstrap import build_app
from services.inspections.settings import InspectionsSettings
from shared.testing.asgi import anonymous_answers, serving

pytestmark = pytest.mark.integration


async def test_no_route_answers_without_a_token(database_url: str, tmp_path: Path) -> None:
    app = build_app(InspectionsSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                        nats_url="nats://127.0.0.1:1"))
    async with serving(app) as client:
        assert await anonymous_answers(app, client) == []
