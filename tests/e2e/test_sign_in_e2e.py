"""Real sign-in across services: a password sign-in at the registry works at reporting until the
member of staff is disabled, and then reporting refuses the token within a minute.

Reporting learns staff only from the registry's events over NATS (its ``staff_directory``).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import expect

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"


async def test_a_disabled_members_token_is_refused_by_another_service_within_a_minute(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    # The registry admits the test's made-up admin; reporting checks every token against its directory.
    stack.add("registry")
    stack.add("reporting", env={"QD_AUTH_STAFF_CHECK": "true"})
    stack.start()
    admin = stack.client("registry", stack.token("admin", Role.FEDERATION_ADMIN))
    public = stack.client("registry")
    expect(admin.post("/departments", json={"code": "health", "name": "卫健局"}), 201)
    expect(admin.post("/staff", json={"staff_id": "ana", "display_name": "Ana", "department": "health",
                                      "roles": ["viewer"]}), 201)
    code = expect(admin.post("/staff/ana/setup-code"), 201)["code"]
    expect(public.post("/auth/password", json={"staff_id": "ana", "code": code, "password": PASSWORD}), 200)
    pair = expect(public.post("/auth/login", json={"staff_id": "ana", "password": PASSWORD}), 200)
    reporting = stack.client("reporting", pair["access_token"])
    made_up = stack.client("reporting", stack.token("ghost", Role.FEDERATION_ADMIN))

    def status() -> int:
        return reporting.get("/views/scoreboards").status_code

    try:
        await wait_until(lambda: status() == 200, timeout=30, message="reporting to learn of ana and admit her")
        assert made_up.get("/views/scoreboards").status_code == 401  # unknown staff, however well signed
        expect(admin.post("/staff/ana/disable", json={"reason": "left the federation"}), 200)
        disabled_at = time.monotonic()
        await wait_until(lambda: status() == 401, timeout=60, interval=0.5,
                         message="reporting to refuse the disabled member's token")
    except AssertionError:
        print(stack.logs())
        raise
    assert time.monotonic() - disabled_at < 60
    refused: httpx.Response = reporting.get("/views/scoreboards")
    assert refused.json()["error"] == "unauthenticated"
    assert public.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
