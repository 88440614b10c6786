"""Sign-in at the registry: one-time codes, passwords, lockout, refresh rotation, the staff check.

Time is an injected clock (``Clock``) shared by the sign-in policy, the token service and the
staff directory's cache: expiry is tested by moving it, never by sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.registry.application.credentials import SignInPolicy
from services.registry.bootstrap import build_app
from services.registry.settings import RegistrySettings
from shared.auth import Role, TokenService
from shared.ratelimit import PerMinuteLimit
from shared.staff import StaffDirectory
from shared.testing.http import app_client, bearer, error_of

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


class Clock:
    """A settable clock: wall time for the policy and tokens, seconds for the directory's cache."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def signed(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Clock]]:
    """The registry with a department, an enrolled viewer ``ana`` and the staff check on."""
    settings = RegistrySettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                nats_url="nats://127.0.0.1:1")
    application = build_app(settings)
    clock = Clock()
    application.state.sign_in = SignInPolicy(max_failures=3, lock_for=timedelta(minutes=15), clock=clock)
    application.state.tokens = TokenService("s" * 40, ttl=timedelta(minutes=15), clock=clock)
    async with app_client(application, staff_check=True) as client:
        directory = application.state.staff_directory
        application.state.staff_directory = None  # set-up by a made-up admin, then the check is on
        admin = bearer(application, "boss", Role.FEDERATION_ADMIN)
        assert (await client.post("/departments", json={"code": "health", "name": "卫健局"},
                                  headers=admin)).status_code == 201
        for who, roles in (("boss", ["federation_admin"]), ("ana", ["viewer"])):
            assert (await client.post("/staff", headers=admin, json={
                "staff_id": who, "display_name": who, "department": "health", "roles": roles})).status_code == 201
        application.state.staff_directory = StaffDirectory(directory._engine, clock=clock.monotonic)
        client.headers.update(bearer(application, "boss", Role.FEDERATION_ADMIN))
        yield application, client, clock


async def _set_password(client: httpx.AsyncClient, staff_id: str = "ana") -> None:
    code = (await client.post(f"/staff/{staff_id}/setup-code")).json()["code"]
    done = await client.post("/auth/password", json={"staff_id": staff_id, "code": code, "password": PASSWORD})
    assert done.status_code == 200, done.text


async def _login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"staff_id": "ana", "password": password})


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_one_time_code_sets_the_password_once(signed: tuple[FastAPI, httpx.AsyncClient, Clock]) -> None:
    _, client, _ = signed
    issued = await client.post("/staff/ana/setup-code")
    assert issued.status_code == 201
    code = issued.json()["code"]
    wrong = await client.post("/auth/password", json={"staff_id": "ana", "code": "nope", "password": PASSWORD})
    assert error_of(wrong) == (422, "invalid", "code")
    assert error_of(await _login(client))[:2] == (401, "unauthenticated")  # no password yet
    ok = await client.post("/auth/password", json={"staff_id": "ana", "code": code, "password": PASSWORD})
    assert ok.status_code == 200
    again = await client.post("/auth/password", json={"staff_id": "ana", "code": code, "password": "another one!"})
    assert error_of(again) == (422, "invalid", "code")
    short = await client.post("/auth/password", json={"staff_id": "ana", "code": code, "password": "short"})
    assert error_of(short)[:2] == (422, "invalid")
    only_admins = await client.post("/staff/ana/setup-code", headers=bearer(signed[0], "ana", Role.VIEWER))
    assert error_of(only_admins)[:2] == (403, "forbidden")


async def test_a_set_up_code_expires(signed: tuple[FastAPI, httpx.AsyncClient, Clock]) -> None:
    _, client, clock = signed
    code = (await client.post("/staff/ana/setup-code")).json()["code"]
    clock.advance(hours=73)
    late = await client.post("/auth/password", json={"staff_id": "ana", "code": code, "password": PASSWORD})
    assert error_of(late) == (422, "invalid", "code")


async def test_login_gives_a_short_lived_token_that_works_until_it_expires(
    signed: tuple[FastAPI, httpx.AsyncClient, Clock],
) -> None:
    _, client, clock = signed
    await _set_password(client)
    assert error_of(await _login(client, "wrong password"))[:2] == (401, "unauthenticated")
    unknown = await client.post("/auth/login", json={"staff_id": "nobody", "password": PASSWORD})
    assert error_of(unknown)[:2] == (401, "unauthenticated")
    pair = (await _login(client)).json()
    assert (pair["staff_id"], pair["roles"], pair["expires_in"]) == ("ana", ["viewer"], 900)
    assert (await client.get("/staff", headers=_as(pair["access_token"]))).status_code == 200
    clock.advance(minutes=15)
    assert error_of(await client.get("/staff", headers=_as(pair["access_token"])))[:2] == (401, "unauthenticated")


async def test_repeated_failures_lock_the_account_for_a_while(
    signed: tuple[FastAPI, httpx.AsyncClient, Clock],
) -> None:
    _, client, clock = signed
    await _set_password(client)
    assert [(await _login(client, "guess")).status_code for _ in range(3)] == [401, 401, 423]
    locked = await _login(client)  # even the right password, while locked
    assert error_of(locked)[:2] == (423, "locked")
    clock.advance(minutes=16)
    assert (await _login(client)).status_code == 200


async def test_a_refresh_token_is_spent_on_use_and_a_replay_revokes_the_chain(
    signed: tuple[FastAPI, httpx.AsyncClient, Clock],
) -> None:
    _, client, _ = signed
    await _set_password(client)
    first = (await _login(client)).json()
    second = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    replay = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert error_of(replay)[:2] == (401, "unauthenticated")
    # Someone else held a copy: the newer token is revoked too.
    stolen = await client.post("/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert error_of(stolen)[:2] == (401, "unauthenticated")
    third = (await _login(client)).json()
    assert (await client.post("/auth/logout", json={"refresh_token": third["refresh_token"]})).status_code == 200
    after = await client.post("/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert error_of(after)[:2] == (401, "unauthenticated")


async def test_disabled_or_changed_staff_lose_their_tokens(signed: tuple[FastAPI, httpx.AsyncClient, Clock]) -> None:
    application, client, clock = signed
    await _set_password(client)
    pair = (await _login(client)).json()
    assert (await client.get("/staff", headers=_as(pair["access_token"]))).status_code == 200
    changed = await client.put("/staff/ana/roles", json={"roles": ["auditor"]})
    assert changed.status_code == 200
    clock.advance(seconds=21)  # past the directory's cache
    assert error_of(await client.get("/staff", headers=_as(pair["access_token"])))[:2] == (401, "unauthenticated")
    renewed = (await client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})).json()
    assert renewed["roles"] == ["auditor"]
    ok = await client.get("/staff", headers=_as(renewed["access_token"]))
    assert ok.status_code == 200, ok.text
    assert (await client.post("/staff/ana/disable", json={"reason": "left"})).status_code == 200
    clock.advance(seconds=21)
    assert error_of(await client.get("/staff", headers=_as(renewed["access_token"])))[:2] == (401, "unauthenticated")
    assert error_of(await _login(client))[:2] == (401, "unauthenticated")
    dev = await client.post("/auth/dev-token", json={"staff_id": "ana"})
    assert error_of(dev)[:2] == (404, "not_found")
    made_up = bearer(application, "ghost", Role.FEDERATION_ADMIN)
    assert error_of(await client.get("/staff", headers=made_up))[:2] == (401, "unauthenticated")


async def test_sign_in_attempts_are_limited_per_client_address_as_well(
    signed: tuple[FastAPI, httpx.AsyncClient, Clock],
) -> None:
    """One address trying many accounts (each below its own lockout) is stopped: 429 with Retry-After,
    for sign-in and for set-up codes alike; another address is not."""
    application, client, _clock = signed
    application.state.sign_in_attempts = PerMinuteLimit("signing in from one address", 4)
    for n in range(4):
        wrong = await client.post("/auth/login", json={"staff_id": f"guess-{n}", "password": PASSWORD})
        assert error_of(wrong)[0] == 401
    refused = await client.post("/auth/login", json={"staff_id": "ana", "password": PASSWORD})
    assert error_of(refused)[:2] == (429, "too_many_requests") and int(refused.headers["retry-after"]) >= 1
    code_guess = await client.post("/auth/password", json={"staff_id": "ana", "code": "000000", "password": PASSWORD})
    assert error_of(code_guess)[0] == 429
    elsewhere = httpx.ASGITransport(app=application, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://service.test") as other:
        answered = await other.post("/auth/login", json={"staff_id": "guess-9", "password": PASSWORD})
        assert error_of(answered)[0] == 401  # its own count


async def test_an_admin_sets_where_reminders_reach_staff(signed: tuple[FastAPI, httpx.AsyncClient, Clock]) -> None:
    _application, client, _clock = signed
    body = {"email": "ana@example.org", "webhook_recipient": "13800000001"}
    assert (await client.put("/staff/ana/contact", json=body)).status_code == 200
    stream = (await client.get("/streams/staff-ana")).json()
    assert stream["events"][-1]["type"] == "staff.contact_set"
    assert stream["events"][-1]["data"] == {"staff_id": "ana", **body}
    for bad in ({"email": "not an address"}, {"webhook_recipient": "a b"}, {"phone": "1"}):
        assert error_of(await client.put("/staff/ana/contact", json=bad))[:2] == (422, "invalid"), bad
    assert error_of(await client.put("/staff/nobody/contact", json=body))[:2] == (404, "not_found")
    assert (await client.post("/staff/ana/disable", json={"reason": "left"})).status_code == 200
    assert error_of(await client.put("/staff/ana/contact", json=body))[:2] == (409, "rule_violated")
