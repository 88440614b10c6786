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


async def test_a_one_time_code_sets_the_password_from_the_sign_in_dialog(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    """The "set your password" view, reached from the sign-in: a wrong code, a short password and two
    different passwords are each said in the page; the right code sets it, and it signs in."""
    from playwright.async_api import expect as see

    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting", env={"QD_AUTH_STAFF_CHECK": "true"})
    stack.start()
    registry = stack.client("registry", stack.token("admin", Role.FEDERATION_ADMIN))
    seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    expect(registry.post("/staff", json=next(m for m in DEMO_STAFF if m["staff_id"] == "viewer")), 201)
    code = expect(registry.post("/staff/viewer/setup-code"), 201)["code"]
    await wait_until(lambda: stack.client("reporting", stack.token("viewer", Role.VIEWER)).get(
        "/views/live-stats").status_code == 200, timeout=30, message="reporting to learn of the viewer")

    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{stack.services['reporting'].url}/dash/coverage")
    await see(page.locator("#signin")).to_have_attribute("open", "")
    await page.click("#registry-box summary")
    await page.fill("#registry-url", stack.services["registry"].url)
    await page.fill("#staff-input", "viewer")
    await page.click("#setpw-open")
    await see(page.locator("#setpw")).to_have_attribute("open", "")
    await see(page.locator("#setpw-title")).to_have_text("设置密码")
    await see(page.locator("#setpw-staff")).to_have_value("viewer")
    for typed_code, password, repeat, said in (
            ("000000", PASSWORD, PASSWORD, "设置码不正确、已使用或已过期，请向管理员索取新的设置码。"),
            (code, "short", "short", "密码至少需要 10 个字符。"),
            (code, PASSWORD, PASSWORD + "!", "两次输入的密码不一致。")):
        await page.fill("#setpw-code", typed_code)
        await page.fill("#setpw-password", password)
        await page.fill("#setpw-repeat", repeat)
        await page.click("#setpw-submit")
        await see(page.locator("#setpw-message")).to_have_text(said)
    await page.fill("#setpw-repeat", PASSWORD)
    await page.click("#setpw-submit")
    await see(page.locator("#setpw")).not_to_have_attribute("open", "")
    await see(page.locator("#signin-message")).to_have_text("密码已设置，请用新密码登录。")
    await see(page.locator("#staff-input")).to_have_value("viewer")
    await page.fill("#password-input", PASSWORD)
    await page.press("#password-input", "Enter")
    await see(page.locator("#signin")).not_to_have_attribute("open", "")
    await see(page.locator("#live")).to_have_attribute("data-state", "live")

    # The same view in English: the language is kept by the page (localStorage).
    await page.evaluate("localStorage.setItem('qd.lang', 'en'); sessionStorage.clear()")
    await page.reload()
    await page.click("#registry-box summary")
    await page.fill("#registry-url", stack.services["registry"].url)
    await page.click("#setpw-open")
    await see(page.locator("#setpw-title")).to_have_text("Set your password")
    await page.fill("#setpw-staff", "viewer")
    await page.fill("#setpw-code", code)  # spent: it worked once
    await page.fill("#setpw-password", PASSWORD)
    await page.fill("#setpw-repeat", PASSWORD)
    await page.click("#setpw-submit")
    await see(page.locator("#setpw-message")).to_have_text(
        "The set-up code is wrong, used or expired: ask an admin for a new one.")
    assert not errors, errors
