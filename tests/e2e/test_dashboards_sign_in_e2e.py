"""The dashboards' password sign-in in Chromium: a wrong password says so, the right one signs in,
and an access token that stops working is replaced with the refresh token without asking again."""

from __future__ import annotations

from typing import Any

import pytest

from services.stack.demo.pengshan import DEMO_STAFF, TOWNSHIPS, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import expect

pytestmark = pytest.mark.e2e

PASSWORD = "viewer's own password"


async def test_a_password_signs_in_and_the_refresh_token_keeps_the_page_signed_in(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting", env={"QD_AUTH_STAFF_CHECK": "true"})
    stack.start()
    registry = stack.client("registry", stack.token("admin", Role.FEDERATION_ADMIN))
    public = stack.client("registry")
    seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    expect(registry.post("/staff", json=next(m for m in DEMO_STAFF if m["staff_id"] == "viewer")), 201)
    code = expect(registry.post("/staff/viewer/setup-code"), 201)["code"]
    expect(public.post("/auth/password", json={"staff_id": "viewer", "code": code, "password": PASSWORD}), 200)
    probe = expect(public.post("/auth/login", json={"staff_id": "viewer", "password": PASSWORD}), 200)
    known = stack.client("reporting", probe["access_token"])
    await wait_until(lambda: known.get("/views/live-stats").status_code == 200, timeout=30,
                     message="reporting to learn of the viewer from the registry's events")

    reporting_url = stack.services["reporting"].url
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{reporting_url}/dash/coverage")
    await see(page.locator("#signin")).to_have_attribute("open", "")
    await page.click("#registry-box summary")
    await page.fill("#registry-url", stack.services["registry"].url)
    await page.fill("#staff-input", "viewer")
    await page.fill("#password-input", "not the password")
    await page.press("#password-input", "Enter")
    await see(page.locator("#signin-message")).to_have_text("工号或密码不正确。")
    await page.fill("#password-input", PASSWORD)
    await page.press("#password-input", "Enter")
    await see(page.locator("#signin")).not_to_have_attribute("open", "")
    await see(page.locator("#live")).to_have_attribute("data-state", "live")
    first_refresh = await page.evaluate("sessionStorage.getItem('qd.refresh')")
    assert first_refresh

    # The access token stops being accepted (as when it expires): the page trades the refresh token.
    await page.evaluate("sessionStorage.setItem('qd.token', 'expired')")
    await page.reload()
    await see(page.locator("#figures [data-measure='registered'] .value")).to_have_text("0")
    await see(page.locator("#signin")).not_to_have_attribute("open", "")
    assert await page.evaluate("sessionStorage.getItem('qd.token')") != "expired"
    assert await page.evaluate("sessionStorage.getItem('qd.refresh')") not in (None, first_refresh)
    # the spent refresh token is refused at the registry
    assert public.post("/auth/refresh", json={"refresh_token": first_refresh}).status_code == 401
    assert not errors, errors
