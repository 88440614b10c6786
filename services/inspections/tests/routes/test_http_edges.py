"""Every route of the inspections app's OpenAPI document refuses a caller without a token (401),
and every read answers every role, through the real app on a real database (no NATS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.inspections.application.access import TABLE
from services.inspections.bootstrap import build_app
from services.inspections.settings import InspectionsSettings
from shared.access import ANY_ROLE
from shared.auth import Role
from shared.testing.http import anonymous_answers, app_client, read_answers_by_role
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

STAFF = {role: principal(f"{role.value}-1", role, township_code="511403100000") for role in Role}
RESTRICTED_READS = {route: set(rule.roles) for rule in TABLE.rules if rule.roles != ANY_ROLE
                    for route in rule.routes if route.startswith("GET ")}
"""The reads not open to every role, from the access table; every other read answers every role."""


async def test_no_route_answers_without_a_token_and_every_read_answers_every_role(
    database_url: str, tmp_path: Path
) -> None:
    app = build_app(InspectionsSettings(database_url=database_url, data_dir=tmp_path, mode="development",
                                        nats_url="nats://127.0.0.1:1"))
    async with app_client(app) as client:
        assert await anonymous_answers(app, client) == []
        assert await read_answers_by_role(app, client, STAFF, RESTRICTED_READS) == []
