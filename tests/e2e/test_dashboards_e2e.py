"""The dashboards in a real headless Chromium, against the real stack on NATS.

Registry, checklists, inspections and reporting run as processes; the browser (Debian's
``chromium``, driven by Playwright with ``executable_path``) opens the pages, and the test changes
data through the services' APIs and watches the open pages follow without reloading. A screenshot
of each page is saved under ``test-artifacts/dashboards/``.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from services.stack.demo.pengshan import DEMO_STAFF, TOWNSHIPS, load_registry_demo, person_body, seed_organisation
from services.stack.demo.supervision import load_supervision_demo
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

TODAY = date.today()
YEAR = TODAY.year
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboards"
TEMPLATE = {"title": "乡镇残疾人工作督导检查清单", "items": [
    {"item_id": "archive", "text": "残疾人档案齐全、动态更新", "guidance": "抽查10份档案", "weight": 3},
    {"item_id": "visits", "text": "年初入户调研全覆盖", "weight": 2},
    {"item_id": "plans", "text": "一人一策制定到位", "weight": 5}]}


class World:
    """The stack, an admin client per service, and the ids the pages will show."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.admin_token = stack.token("admin", Role.FEDERATION_ADMIN)
        self.registry = stack.client("registry", self.admin_token)
        self.reporting = stack.client("reporting", self.admin_token)
        self.villages: list[str] = []

    @property
    def checklists(self) -> httpx.Client:
        """The federation's checklists instance, as admin."""
        return self.stack.client("checklists", self.admin_token)

    @property
    def inspections(self) -> httpx.Client:
        """The inspections service, as admin."""
        return self.stack.client("inspections", self.admin_token)

    @property
    def url(self) -> str:
        """The reporting service's base URL."""
        return self.stack.services["reporting"].url

    async def wait(self, condition: Callable[[], bool], what: str, within: float = 60) -> None:
        """Wait for ``condition``; on timeout, show the services' logs."""
        try:
            await wait_until(condition, timeout=within, interval=0.1, message=what)
        except AssertionError:
            print(self.stack.logs())
            raise

    def coverage(self, **params: Any) -> dict[str, Any]:
        """The reporting service's coverage JSON."""
        body: dict[str, Any] = expect(self.reporting.get("/coverage", params={"year": YEAR, **params}), 200)
        return body


async def _world(make: Callable[[NatsServerProcess], Stack], nats: NatsServerProcess) -> World:
    stack = make(nats)
    stack.add("registry")
    stack.add("checklists", env={"QD_DEPARTMENT": "federation",
                                 "QD_HOSTED_DEPARTMENTS": "health,civil_affairs,hrss,education,housing"})
    stack.add("inspections")
    stack.add("reporting")
    stack.start()
    world = World(stack)
    townships = TOWNSHIPS[:3]
    world.villages = seed_organisation(world.registry, villages_per_township=2, townships=townships)
    for member in DEMO_STAFF:
        if member.get("township_code") in (None, *(code for code, _ in townships)):
            expect(world.registry.post("/staff", json=member), 201)
    async with httpx.AsyncClient(base_url=stack.services["registry"].url, trust_env=False, timeout=60,
                                 headers={"Authorization": f"Bearer {world.admin_token}"}) as client:
        await load_registry_demo(client, persons=30, year=YEAR, today=TODAY)
    expect(world.checklists.post("/templates/township-check/versions", json=TEMPLATE), 201)

    def knows_departments() -> bool:
        codes = {d["code"] for d in expect(world.checklists.get("/departments"), 200)}
        return {"health", "civil_affairs"} <= codes
    await world.wait(knows_departments, "checklists to learn the registry's departments")
    month = f"{TODAY:%Y-%m}"
    expect(world.checklists.post("/task-lists", json={"month": month, "title": f"{month} 工作责任清单"}), 201)
    for title, department, days, assignee in (("重度残疾人家庭医生签约", "health", 3, "张医生(演示)"),
                                              ("两项补贴发放核对", "civil_affairs", 6, None)):
        expect(world.checklists.post(f"/task-lists/{month}/tasks", json={
            "title": title, "description": f"{title}(演示)", "responsible_department": department,
            "metric": "完成人数", "unit": "人", "target_value": 10,
            "deadline": (TODAY + timedelta(days=days)).isoformat(),
            **({"assignee": assignee} if assignee else {})}), 201)
    health = stack.client("checklists", stack.token("health-officer", Role.DEPARTMENT_OFFICER, department="health"))
    highlight = expect(health.post("/highlights", json={
        "title": "五维一体康复服务模式", "description": "医院、社区、家庭、残联、志愿者五方联动(演示)",
        "tags": ["康复", "家庭医生"], "evidence": ["五维一体工作方案(演示).pdf"]}), 201)
    await world.wait(lambda: world.checklists.get(f"/highlights/{highlight['highlight_id']}").status_code == 200,
                     "the federation's checklists to learn the highlight")
    expect(world.checklists.post(f"/highlights/{highlight['highlight_id']}/approval", json={}), 200)
    expect(world.checklists.post(f"/highlights/{highlight['highlight_id']}/featuring", json={}), 200)

    def as_staff(staff_id: str) -> httpx.Client:
        member = next(m for m in DEMO_STAFF if m["staff_id"] == staff_id)
        roles = [Role(r) for r in member["roles"]]
        return stack.client("inspections", stack.token(staff_id, *roles, department=member["department"],
                                                       township_code=member.get("township_code")))
    load_supervision_demo(world.inspections, as_staff, year=YEAR, today=TODAY,
                          township_codes=[code for code, _ in townships])

    written = {r["rectification_id"]: r["status"] for r in expect(world.inspections.get("/rectifications"), 200)}

    def everything_arrived() -> bool:
        ledger = world.reporting.get("/rectifications").json()
        tasks = world.reporting.get("/tasks").json()
        return ({e["rectification_id"]: e["status"] for e in ledger.get("entries", [])} == written
                and tasks.get("count", 0) == 2 and world.coverage()["all"]["registered"] == 30
                and _consumers_level(world))
    await world.wait(everything_arrived, "the ledger, the tasks and the persons to reach reporting")
    assert expect(world.reporting.get("/health"), 200)["dead_letters"] == 0, "reporting could not apply some events"
    return world


def _consumers_level(world: World) -> bool:
    """Whether every read model of a stream has read as far as the others (each consumer sees every event)."""
    positions: dict[str, set[int]] = {}
    for consumer in world.reporting.get("/health").json()["consumers"]:
        positions.setdefault(consumer["stream"], set()).add(consumer["position"])
    return all(len(p) == 1 for p in positions.values())


async def _page(browser: Any, world: World, path: str, *, width: int = 1280, height: int = 900) -> Any:
    page = await browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    await page.add_init_script(f"sessionStorage.setItem('qd.token', {world.admin_token!r})")
    await page.goto(f"{world.url}{path}")
    await page.wait_for_selector("#live[data-state='live']", timeout=15000)
    await page.wait_for_selector("body[data-loaded='yes']", timeout=15000)
    return page


async def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert not page.errors, page.errors


async def test_dashboards_follow_the_services_live_in_a_real_browser(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    world = await _world(stack_factory, nats_server)
    page = await _page(browser, world, f"/dash/coverage?year={YEAR}")
    registered = page.locator("#figures [data-measure='registered'] .value")
    visited = page.locator("#figures [data-measure='visited'] .value")
    await see(registered).to_have_text("30")
    before_visited = int(await visited.inner_text())
    await _shot(page, "coverage")

    # a new person, then their visit, through the registry API: the open page follows, no reload
    rng = random.Random(99)
    person = expect(world.registry.post("/persons", json=person_body(rng, world.villages[0], 900)), 201)
    await world.wait(lambda: world.coverage()["all"]["registered"] == 31, "reporting to count the new person")
    applied = time.monotonic()
    await see(registered).to_have_text("31", timeout=3000)
    first_latency = time.monotonic() - applied
    expect(world.registry.post(f"/persons/{person['person_id']}/visits", json={
        "visited_on": TODAY.isoformat(), "mode": "home", "needs": ["rehabilitation"]}), 201)
    await world.wait(lambda: world.coverage()["all"]["visited"] == before_visited + 1, "the visit to reach reporting")
    applied = time.monotonic()
    await see(visited).to_have_text(str(before_visited + 1), timeout=3000)
    print(f"page updated {first_latency:.3f}s and {time.monotonic() - applied:.3f}s after the events were applied")

    # visits are attempts: a 失访 shows as lost, with its reason, until a reached visit
    other = expect(world.registry.post("/persons", json=person_body(rng, world.villages[0], 901)), 201)
    lost_before = world.coverage()["all"]["lost"]
    expect(world.registry.post(f"/persons/{other['person_id']}/visits", json={
        "visited_on": TODAY.isoformat(), "mode": "lost_to_follow_up", "lost_reason": "refused",
        "form_id": "yearly-survey", "form_version": 1}), 201)
    await world.wait(lambda: world.coverage()["all"]["lost"] == lost_before + 1, "the 失访 to reach reporting")
    await see(page.locator("#figures [data-measure='lost'] .value")).to_have_text(str(lost_before + 1), timeout=3000)
    await see(page.locator("#lost-reasons tr[data-reason='refused'] th")).to_have_text("拒绝调查")

    # English with one switch, remembered across pages; then back to Chinese
    await page.click("#lang")
    await see(page.locator("html")).to_have_attribute("lang", "en")
    await see(page.locator("nav#nav a[aria-current='page']")).to_have_text("Coverage")
    await page.reload()
    await see(page.locator("#figures [data-measure='registered'] .label")).to_have_text("Registered")
    await _shot(page, "coverage-en")
    await page.click("#lang")
    await see(page.locator("nav#nav a[aria-current='page']")).to_have_text("覆盖率")

    # drill down: district → township → its villages, and who there still needs a visit or a plan
    township_code, township_name = TOWNSHIPS[0]
    await page.click(f"#children tr[data-code='{township_code}'] a.drill")
    await see(page.locator(".crumbs [aria-current]")).to_have_text(township_name)
    assert f"unit={township_code}" in page.url
    village_rows = page.locator("#children tbody tr")
    await see(village_rows).to_have_count(2)
    await page.select_option("#missing", "plan")
    await see(page.locator("#persons tbody tr").first).to_be_visible()
    assert person["person_id"][-8:] in await page.locator("#persons tbody").inner_text()
    await _shot(page, "coverage-township")

    # the overdue work list: three kinds, filterable, with days overdue
    overdue = await _page(browser, world, "/dash/overdue")
    kinds = set(await overdue.locator("#worklist tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)"))
    horizon = (TODAY + timedelta(days=7)).isoformat()
    entries = expect(world.reporting.get("/rectifications"), 200)["entries"]
    rectifications = [e for e in entries if e["status"] in ("assigned", "reopened") and e["deadline"] <= horizon]
    expected = {"task", "plan_item"} | ({"rectification"} if rectifications else set())
    assert expected == kinds, (kinds, world.reporting.get("/views/worklist").json()["by_kind"],
                               world.reporting.get("/health").json())
    await _shot(overdue, "overdue")
    await overdue.select_option("#kind", "plan_item")
    await see(overdue.locator("#worklist tbody tr[data-kind='plan_item']").first).to_be_visible()
    await see(overdue.locator("#worklist tbody tr[data-kind='task']")).to_have_count(0)
    await see(overdue.locator("#worklist tbody tr").first.locator("td").nth(6)).to_contain_text("逾期")
    await overdue.select_option("#kind", "task")
    await see(overdue.locator("#worklist tbody tr[data-kind='task']").first).to_be_visible()
    await overdue.select_option("#assignee", "张医生(演示)")
    await see(overdue.locator("#worklist tbody tr")).to_have_count(1)
    await see(overdue.locator("#worklist tbody tr td").nth(6)).to_have_text("3 天后到期")

    scores = await _page(browser, world, "/dash/scores")
    assert await scores.locator("#departments tbody tr").count() >= 2
    assert await scores.locator("#townships tbody tr").count() == 3
    await _shot(scores, "scores")

    ledger = await _page(browser, world, "/dash/ledger")
    assert await ledger.locator("#ledger tbody tr").count() > 0
    async with ledger.expect_download() as download_info:
        await ledger.click("#download-xlsx")
    download = await download_info.value
    saved = ARTIFACTS / "ledger.xlsx"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await download.save_as(str(saved))
    sheet = openpyxl.load_workbook(saved).active
    assert sheet is not None and sheet.max_row > 2
    await _shot(ledger, "ledger")

    highlights = await _page(browser, world, "/dash/highlights")
    await see(highlights.locator("#wall article.featured h3")).to_have_text("五维一体康复服务模式")
    await _shot(highlights, "highlights")

    history = await _page(browser, world, f"/dash/history?id={person['person_id']}")
    types = await history.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.type)")
    assert types[:2] == ["person.registered", "visit.recorded"], types
    rectification = expect(world.reporting.get("/rectifications"), 200)["entries"][0]["rectification_id"]
    await history.fill("#entity", rectification)
    await history.press("#entity", "Enter")
    await see(history.locator("#timeline li").first).to_have_attribute("data-type", "rectification.assigned")
    await _shot(history, "history")

    tablet = await _page(browser, world, f"/dash/coverage?year={YEAR}", width=820, height=1180)
    await _shot(tablet, "coverage-tablet")


async def test_many_open_pages_cost_one_query_per_change_and_pages_reconnect_by_themselves(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    world = World(stack)
    world.villages = seed_organisation(world.registry, villages_per_township=1, townships=TOWNSHIPS[:2])
    rng = random.Random(7)
    expect(world.registry.post("/persons", json=person_body(rng, world.villages[0], 1)), 201)
    await world.wait(lambda: world.coverage()["all"]["registered"] == 1, "the first person to reach reporting")
    pages = [await _page(browser, world, f"/dash/coverage?year={YEAR}") for _ in range(8)]
    for page in pages:
        await see(page.locator("#figures [data-measure='registered'] .value")).to_have_text("1")
    stats = expect(world.reporting.get("/views/live-stats"), 200)
    assert stats["watchers"] == 8, stats

    expect(world.registry.post("/persons", json=person_body(rng, world.villages[1], 2)), 201)
    for page in pages:
        await see(page.locator("#figures [data-measure='registered'] .value")).to_have_text("2", timeout=5000)
    after = expect(world.reporting.get("/views/live-stats"), 200)
    # each page shows three views (two of coverage, one of rehabilitation); one registration reaches
    # coverage, plan items, audit and rehabilitation, and a view is recomputed only when its own read
    # model announces: at most 6 computations, however many pages watch (8 × 3 = 24)
    assert after["computations"] - stats["computations"] <= 6, (stats, after)

    watched = pages[0]
    stack.services["reporting"].stop()
    await see(watched.locator("#live")).to_have_attribute("data-state", "offline", timeout=10000)
    await _shot(watched, "coverage-disconnected")
    expect(world.registry.post("/persons", json=person_body(rng, world.villages[1], 3)), 201)
    stack.services["reporting"].start()
    await see(watched.locator("#live")).to_have_attribute("data-state", "live", timeout=20000)
    await see(watched.locator("#figures [data-measure='registered'] .value")).to_have_text("3", timeout=20000)


async def test_signing_in_has_one_obvious_path_and_each_failure_says_what_is_wrong(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    world = World(stack)
    seed_organisation(world.registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    expect(world.registry.post("/staff", json=next(m for m in DEMO_STAFF if m["staff_id"] == "viewer")), 201)
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{world.url}/dash/coverage")
    await see(page.locator("#signin")).to_have_attribute("open", "")
    await see(page.locator("#staff-input")).to_be_focused()
    message = page.locator("#signin-message")

    await page.press("#staff-input", "Enter")  # nothing typed
    await see(message).to_have_text("请输入工号，或粘贴访问令牌。")
    await page.click("#registry-box summary")
    await page.fill("#registry-url", stack.services["registry"].url)
    await page.fill("#staff-input", "nobody")
    await page.press("#staff-input", "Enter")
    await see(message).to_have_text("没有工号为“nobody”的工作人员，请检查工号。")
    await page.fill("#registry-url", world.url)  # reporting's address, not the registry's
    await page.click("#use-token")
    await see(message).to_contain_text("没有开发令牌接口")
    await page.fill("#registry-url", "http://127.0.0.1:9")  # nothing listens there
    await page.click("#use-token")
    await see(message).to_contain_text("连接不上登记服务 http://127.0.0.1:9")
    await page.click("#token-box summary")
    await page.fill("#token-input", "not-a-token")
    await page.click("#use-token")
    await see(message).to_contain_text("数据看板不接受此令牌")
    await _shot_named(page, "signin-phone")

    # the one obvious path: a staff id and Enter
    await page.fill("#token-input", "")
    await page.fill("#registry-url", stack.services["registry"].url)
    await page.fill("#staff-input", "viewer")
    await page.press("#staff-input", "Enter")
    await see(page.locator("#signin")).not_to_have_attribute("open", "")
    await see(page.locator("#live")).to_have_attribute("data-state", "live")
    await see(page.locator("#figures [data-measure='registered'] .value")).to_have_text("0")
    assert not errors, errors


async def _shot_named(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


LAYOUT = """() => ({
  width: document.documentElement.scrollWidth,
  header: document.querySelector('header.top').getBoundingClientRect().height,
  outside: [...document.querySelectorAll('main *')].filter((n) => {
    const box = n.getBoundingClientRect();
    if (!box.width) return false;
    for (let p = n.parentElement; p; p = p.parentElement) {  // inside a box that scrolls sideways: fine
      const style = getComputedStyle(p);
      if (style.overflowX === 'auto' || style.overflowX === 'scroll') return false;
    }
    return box.right > window.innerWidth + 0.5;
  }).map((n) => n.tagName + (n.id ? '#' + n.id : '') + '.' + n.className).slice(0, 5),
})"""


async def test_every_page_fits_a_phone_and_a_laptop_and_long_lists_are_paged(
    stack_factory: Any, nats_server: NatsServerProcess, browser: Any
) -> None:
    from playwright.async_api import expect as see

    world = await _world(stack_factory, nats_server)
    async with httpx.AsyncClient(base_url=world.stack.services["registry"].url, trust_env=False, timeout=60,
                                 headers={"Authorization": f"Bearer {world.admin_token}"}) as client:
        await load_registry_demo(client, persons=60, year=YEAR, today=TODAY, seed=7)  # a longer register
    await world.wait(lambda: world.coverage()["all"]["registered"] == 90, "the longer register to reach reporting")
    health = world.stack.client("checklists", world.stack.token("health-officer", Role.DEPARTMENT_OFFICER,
                                                                  department="health"))
    long_url = "https://example.org/demo/highlights/" + "a-very-long-evidence-file-name-" * 3 + "health.pdf"
    expect(health.post("/highlights", json={"title": "家庭医生签约全覆盖", "description": "(演示)",
                                            "tags": ["医疗"], "evidence": [long_url]}), 201)
    await world.wait(lambda: any(h["title"] == "家庭医生签约全覆盖"
                                 for h in expect(world.reporting.get("/views/highlights"), 200)),
                     "the new highlight to reach the wall")
    end_of_year = f"{YEAR}-12-31"  # as of the year's end nearly every plan item is due: a long list
    work = expect(world.reporting.get("/views/worklist", params={"today": end_of_year, "limit": 5}), 200)
    assert work["total"] > 20 and len(work["rows"]) == 5 and work["offset"] == 0, work["total"]
    second = expect(world.reporting.get("/views/worklist", params={"today": end_of_year, "limit": 5,
                                                                   "offset": 5}), 200)
    assert second["total"] == work["total"] and {r["id"] for r in second["rows"]}.isdisjoint(
        {r["id"] for r in work["rows"]})
    assert world.reporting.get("/views/worklist", params={"limit": 501}).status_code == 422
    assert world.reporting.get("/views/ledger", params={"offset": -1}).status_code == 422

    pages = ["coverage", "overdue", "scores", "ledger", "highlights", f"history?id={work['rows'][0]['id']}"]
    for lang in ("zh", "en"):
        for width in (390, 1366):
            for path in pages:
                page = await _page(browser, world, f"/dash/{path}{'&' if '?' in path else '?'}today={end_of_year}",
                                   width=width, height=844 if width == 390 else 900)
                if lang == "en":
                    await page.click("#lang")
                    await see(page.locator("html")).to_have_attribute("lang", "en")
                layout = await page.evaluate(LAYOUT)
                where = f"{path} at {width} px ({lang})"
                assert layout["width"] <= width, (where, layout)
                assert not layout["outside"], (where, layout)
                # the header: one line on a laptop, two short rows on a phone
                assert layout["header"] <= (64 if width == 1366 else 100), (where, layout)
                await _shot(page, f"first-day-{path.split('?')[0]}-{width}-{lang}")
                await page.close()

    phone = await _page(browser, world, f"/dash/overdue?today={end_of_year}", width=390, height=844)
    rows = phone.locator("#worklist tbody tr")
    await see(rows).to_have_count(20)
    await see(phone.locator("#pager .range")).to_have_text(re.compile(r"^第 1–20 条，共 \d+ 条$"))

    async def page_says_the_total() -> bool:  # the page and a fresh query agree (both follow late events)
        shown = int(re.findall(r"\d+", await phone.locator("#pager .range").inner_text())[-1])
        fresh = expect(world.reporting.get("/views/worklist", params={"today": end_of_year, "limit": 7}), 200)
        return bool(shown == fresh["total"] > 20)
    await wait_until(page_says_the_total, timeout=15, message="the pager to say how many rows there are in all")
    work = expect(world.reporting.get("/views/worklist", params={"today": end_of_year, "limit": 7}), 200)
    assert await phone.locator("#worklist thead").is_hidden()  # each row is a card
    await phone.click("#pager .next")
    await see(phone.locator("#pager .range")).to_contain_text(f"第 21–{min(40, work['total'])} 条")
    assert "offset=20" in phone.url
    await phone.select_option("#kind", "plan_item")  # a filter starts again at the first page
    await see(phone.locator("#pager .range")).to_contain_text("第 1–")
    assert "offset" not in phone.url

    laptop = await _page(browser, world, "/dash/ledger", width=1366)
    number = laptop.locator("#ledger tbody td.id a").first
    assert await number.evaluate("a => a.getClientRects().length") == 1  # ZG-2026-0001 on one line
    wall = await _page(browser, world, "/dash/highlights", width=1366)
    card = wall.locator("#wall article", has_text="家庭医生签约全覆盖")
    assert await card.evaluate("a => a.scrollWidth <= a.clientWidth"), "the evidence runs out of its card"
    await see(card.locator(f"a[href='{long_url}']")).to_be_visible()

    scores = await _page(browser, world, f"/dash/scores?today={end_of_year}", width=1366)  # tasks past due
    heat = scores.locator("#trend-departments")
    await see(heat.locator("thead th")).to_have_count(13)  # a corner, then a column per month
    named = await heat.locator("tbody th").all_inner_texts()
    assert named and set(named) <= set(await scores.locator("#departments tbody th").all_inner_texts()), named
    assert await heat.locator("tbody td").count() == 12 * len(named)
    assert await heat.locator("td[data-level]").count() > 0
    assert await scores.locator(".heat-scale").first.locator("span").count() == 4
    assert await scores.locator("main svg path").count() == 0  # no crossing lines
