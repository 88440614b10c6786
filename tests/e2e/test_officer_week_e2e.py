"""The officer's week (本周工作) on a phone in Chromium, against the real registry and reporting on NATS.

A township officer opens their village's week, the network goes away (Playwright's offline switch
for the whole browser context, service worker included), visits are recorded and queued in
IndexedDB, the page is reloaded offline (the service worker serves the page and the last list; the
queue is still there), the network comes back: one visit reaches the registry and its person leaves
"not yet reached"; the other meets a person changed meanwhile (409), which the page shows until the
officer re-sends it against the new version.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.stack.demo.pengshan import DEMO_STAFF, TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import expect

pytestmark = pytest.mark.e2e

OFFICER = "township-001"
PHONE = {"width": 390, "height": 844}


async def test_visits_recorded_offline_reach_the_registry_and_a_conflict_is_resolved(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    admin = stack.client("registry", stack.token("admin", Role.FEDERATION_ADMIN))
    township = TOWNSHIPS[0][0]
    village = seed_organisation(admin, villages_per_township=2, townships=TOWNSHIPS[:1])[0]
    expect(admin.post("/staff", json=next(m for m in DEMO_STAFF if m["staff_id"] == OFFICER)), 201)
    rng = random.Random(5)
    persons = [expect(admin.post("/persons", json=person_body(rng, village, n)), 201)["person_id"] for n in range(3)]
    reached, changed, untouched = persons
    reporting = stack.client("reporting", stack.token(OFFICER, Role.TOWNSHIP_OFFICER, township_code=township))

    def not_reached() -> set[str]:
        body = reporting.get("/views/week", params={"unit": village}).json()
        return {r["person_id"] for r in body.get("sections", {}).get("not_reached", {}).get("rows", [])}
    await wait_until(lambda: not_reached() == set(persons), timeout=60, message="reporting to list the three persons")

    context = await browser.new_context(viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{stack.services['reporting'].url}/dash/week?unit={village}")
    await see(page.locator("#signin")).to_have_attribute("open", "")
    await page.click("#registry-box summary")
    await page.fill("#registry-url", stack.services["registry"].url)
    await page.fill("#staff-input", OFFICER)
    await page.press("#staff-input", "Enter")
    rows = page.locator("#section-not_reached [data-person]")
    await see(rows).to_have_count(3)
    # the service worker takes over and fetches the list again through itself, which keeps it
    await page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30000)
    await see(page.locator("#fetched")).to_have_attribute("data-offline", "no")

    await context.set_offline(True)
    await see(page.locator("#network")).to_have_attribute("data-online", "no")
    for person, need in ((reached, "medical"), (changed, "housing")):
        await page.click(f"#section-not_reached [data-person='{person}'] button.record")
        await page.check(f"#visit-form input[name='needs'][value='{need}']")
        await page.click("#visit-save")
        await see(page.locator(f"#queue [data-person='{person}']")).to_have_attribute("data-state", "pending")
    await see(page.locator(f"#section-not_reached [data-person='{reached}'] [data-pending]")).to_be_visible()

    # Reload without a network: the page and the list come from the service worker, the queue from IndexedDB.
    await page.reload()
    await see(page.locator("#fetched")).to_have_attribute("data-offline", "yes")
    await see(rows).to_have_count(3)
    await see(page.locator("#queue [data-state='pending']")).to_have_count(2)

    # Meanwhile someone else changes the second person in the registry.
    version = expect(admin.get(f"/persons/{changed}"), 200)["version"]
    expect(admin.put(f"/persons/{changed}/hardship", json={"hardship": ["living_alone"], "expected_version": version}),
           200)

    await context.set_offline(False)
    await see(page.locator(f"#queue [data-person='{changed}']")).to_have_attribute("data-state", "conflict",
                                                                                 timeout=30000)
    await see(page.locator(f"#queue [data-person='{reached}']")).to_have_count(0)
    assert expect(admin.get(f"/persons/{reached}"), 200)["version"] == 2  # the visit reached the registry
    await see(page.locator(f"#section-not_reached [data-person='{reached}']")).to_have_count(0, timeout=30000)
    await see(page.locator(f"#queue [data-person='{changed}'] .error-text")).to_contain_text(str(version + 1))

    # The officer has seen the change and re-sends the visit against the new version.
    await page.click(f"#queue [data-person='{changed}'] button.resend")
    await see(page.locator("#queue [data-person]")).to_have_count(0, timeout=30000)
    assert expect(admin.get(f"/persons/{changed}"), 200)["version"] == version + 2
    await see(page.locator(f"#section-not_reached [data-person='{changed}']")).to_have_count(0, timeout=30000)
    await see(page.locator(f"#section-not_reached [data-person='{untouched}']")).to_have_count(1)
    await page.screenshot(path=str(stack.data_dir / "week.png")) if hasattr(stack, "data_dir") else None
    assert not errors, errors
    await context.close()
