"""``/docs`` and ``/redoc`` of every service render in Chromium with no outside network (an intranet)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from shared.testing.servers import NatsServerProcess

pytestmark = pytest.mark.e2e

SERVICES = ("registry", "checklists", "inspections", "reporting")


async def test_api_documentation_renders_without_internet(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    stack = stack_factory(nats_server)
    for name in SERVICES:
        stack.add(name)
    stack.start()
    page = await browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    async def intranet_only(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:  # as on an intranet: nothing outside answers
            if route.request.resource_type != "image":  # ReDoc's footer logo is an image from its CDN
                outside.append(route.request.url)
            await route.abort("internetdisconnected")
    await page.route("**/*", intranet_only)

    for name in SERVICES:
        base = stack.services[name].url
        await page.goto(f"{base}/docs")
        # Swagger UI drew the operations of the service's OpenAPI document
        await see(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15000)
        await see(page.locator(".swagger-ui .info .title")).to_contain_text(f"Qingdan {name}")
        await page.goto(f"{base}/redoc")
        await see(page.locator("redoc h1, [role='main'] h1").first).to_contain_text(f"Qingdan {name}",
                                                                                    timeout=15000)
    assert not outside, f"the documentation pages need the internet for {outside}"
    assert not errors, errors
