"""The officer's week (本周工作) on a phone in Chromium, against the real registry and reporting on NATS.

A township officer opens their village's week, the network goes away (Playwright's offline switch
for the whole browser context, service worker included), visits are recorded and queued in
IndexedDB, the page is reloaded offline (the service worker serves the page and the last list; the
queue is still there), the network comes back: one visit reaches the registry and its person leaves
"not yet reached"; the other meets a person changed meanwhile (409), which the page shows until the
officer re-sends it against the new version.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.stack.demo.pengshan import DEMO_STAFF, TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import expect

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboards"
OFFICER = "township-001"
# A survey form as the registry's GET /survey-forms/current will serve it (the agreed shape).
SURVEY = {"form_id": "form-2026", "version": 3, "year": 2026, "title_zh": "入户调研问卷",
          "title_en": "Home visit survey",
          "sections": [{"code": "health", "label_zh": "健康", "label_en": "Health", "items": [
              {"code": "rehab", "label_zh": "是否需要康复", "label_en": "Needs rehabilitation", "answer_type": "yesno",
               "options": [], "required": True, "max_length": None, "show_if": None, "needs_code": "rehabilitation"},
              {"code": "rehab_kind", "label_zh": "康复类型", "label_en": "Kind of rehabilitation",
               "answer_type": "multi", "options": [{"code": "physio", "label_zh": "理疗", "label_en": "physio"},
                                                   {"code": "speech", "label_zh": "言语", "label_en": "speech"}],
               "required": True, "max_length": None, "show_if": {"item": "rehab", "any_of": ["yes"]},
               "needs_code": None}]}]}
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
    # A fourth person, visited, with a plan item falling due tomorrow: the officer is reminded of it.
    planned = expect(admin.post("/persons", json=person_body(rng, village, 3)), 201)["person_id"]
    year = date.today().year
    expect(admin.post(f"/persons/{planned}/visits", json={
        "visited_on": date.today().isoformat(), "mode": "home", "needs": ["rehabilitation"]}), 201)
    expect(admin.post(f"/persons/{planned}/plans/{year}"), 201)
    due = min(date.today() + timedelta(days=1), date(year, 12, 31))
    item = expect(admin.post(f"/persons/{planned}/plans/{year}/items", json={
        "kind": "protection", "need": "rehabilitation", "description": "康复训练",
        "responsible_department": "health", "due_on": due.isoformat()}), 201)["item_id"]

    def reminded() -> list[str]:
        return [i["item_id"] for i in reporting.get("/reminders/mine").json().get("items", [])]
    await wait_until(lambda: reminded() == [item], timeout=60, message="reporting to remind the officer of the item")

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
    # The officer's own next reminders (from /reminders/mine): the item falling due tomorrow.
    await see(page.locator("#section-reminders")).to_have_attribute("data-shown", "1")
    await see(page.locator(f"#section-reminders [data-reminder='{item}']")).to_have_count(1)
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
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "week-phone.png"), full_page=True)

    # Once the registry serves a survey form, the visit form is drawn from it, with its skip rules.
    async def serve_survey(route: Any) -> None:
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(SURVEY),
                            headers={"Access-Control-Allow-Origin": "*"})
    await context.route("**/survey-forms/current*", serve_survey)
    await page.reload()
    await page.click(f"#section-not_reached [data-person='{untouched}'] button.record")
    await see(page.locator("#visit-form [data-item='rehab']")).to_be_visible()
    await see(page.locator("#visit-form [data-item='rehab_kind']")).to_be_hidden()
    await page.click("#visit-form [data-item='rehab'] input[value='yes']")
    await see(page.locator("#visit-form [data-item='rehab_kind']")).to_be_visible()
    await page.click("#visit-save")  # the shown, required multi is unanswered
    await see(page.locator("#visit-message")).not_to_be_empty()
    await page.select_option("#visit-mode", "lost_to_follow_up")
    await see(page.locator("#visit-answers")).to_be_hidden()
    await page.fill("#visit-lost-reason", "外出务工，家中无人")
    async with page.expect_request(
            lambda r: r.method == "POST" and r.url.endswith(f"/persons/{untouched}/visits")) as sent:
        await page.click("#visit-save")
    body = json.loads((await sent.value).post_data or "{}")
    assert {k: body[k] for k in ("mode", "form_id", "form_version", "answers", "lost_reason", "needs")} == {
        "mode": "lost_to_follow_up", "form_id": "form-2026", "form_version": 3, "answers": {},
        "lost_reason": "外出务工，家中无人", "needs": []}
    # Today's registry takes no survey answers yet (422): the page keeps the visit and says so until discarded.
    await see(page.locator(f"#queue [data-person='{untouched}']")).to_have_attribute("data-state", "rejected")
    await page.click(f"#queue [data-person='{untouched}'] button.discard")
    await see(page.locator("#queue [data-person]")).to_have_count(0)
    assert not errors, errors
    await context.close()
