"""Audit views as of a moment, over real NATS: a saved live view equals the view asked ``?as_of=`` later.

Registry, checklists, inspections and reporting run as processes; the views are saved when reporting has
applied everything, then the register and the ledger change, and the same views asked for the saved
moment (replayed from the streams, signed events only) must equal what was saved.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.stack.demo.pengshan import DEMO_STAFF, TOWNSHIPS, load_registry_demo, person_body, seed_organisation
from services.stack.demo.supervision import load_supervision_demo
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

TODAY = date.today()
YEAR = TODAY.year
PERSONS = 12
TEMPLATE = {"title": "乡镇残疾人工作督导检查清单", "items": [
    {"item_id": "archive", "text": "残疾人档案齐全、动态更新", "weight": 3},
    {"item_id": "plans", "text": "一人一策制定到位", "weight": 5}]}


def _without_positions(body: dict[str, Any]) -> dict[str, Any]:
    # Live positions name consumers; a moment's name the streams it read: not the view's content.
    return {k: v for k, v in body.items() if k != "positions"}


class Views:
    """The three audit views of one reporting service, live or as of a moment."""

    def __init__(self, reporting: httpx.Client) -> None:
        self.reporting = reporting

    def get(self, as_of: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Coverage, the ledger and the scoreboards (``today`` pinned so that only events differ)."""
        moment = {"as_of": as_of.isoformat()} if as_of is not None else {}
        return {
            "coverage": _without_positions(expect(self.reporting.get(
                "/coverage", params={"year": YEAR, "depth": 2, **moment}), 200)),
            "ledger": _without_positions(expect(self.reporting.get(
                "/rectifications", params={"today": TODAY.isoformat(), **moment}), 200)),
            "scoreboards": expect(self.reporting.get(
                "/views/scoreboards", params={"year": YEAR, "today": TODAY.isoformat(), **moment}), 200),
        }

    def caught_up(self) -> bool:
        """Whether the live views equal the views replayed as of now: reporting has applied all there is."""
        live = self.get()
        return live == self.get(as_of=datetime.now(UTC))


async def _stack(stack_factory: Any, nats: NatsServerProcess) -> tuple[Stack, str, list[str]]:
    stack: Stack = stack_factory(nats)
    stack.add("registry")
    stack.add("checklists", env={"QD_DEPARTMENT": "federation",
                                 "QD_HOSTED_DEPARTMENTS": "health,civil_affairs,hrss,education,housing"})
    stack.add("inspections")
    stack.add("reporting")
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry = stack.client("registry", admin)
    townships = TOWNSHIPS[:2]
    villages = seed_organisation(registry, villages_per_township=2, townships=townships)
    for member in DEMO_STAFF:
        if member.get("township_code") in (None, *(code for code, _ in townships)):
            expect(registry.post("/staff", json=member), 201)
    async with httpx.AsyncClient(base_url=stack.services["registry"].url, trust_env=False, timeout=60,
                                 headers={"Authorization": f"Bearer {admin}"}) as client:
        await load_registry_demo(client, persons=PERSONS, year=YEAR, today=TODAY)
    expect(stack.client("checklists", admin).post("/templates/township-check/versions", json=TEMPLATE), 201)
    load_supervision_demo(stack.client("inspections", admin), lambda staff: _as_staff(stack, staff),
                          year=YEAR, today=TODAY, township_codes=[code for code, _ in townships])
    return stack, admin, villages


def _as_staff(stack: Stack, staff_id: str) -> httpx.Client:
    member = next(m for m in DEMO_STAFF if m["staff_id"] == staff_id)
    roles = [Role(r) for r in member["roles"]]
    return stack.client("inspections", stack.token(staff_id, *roles, department=member["department"],
                                                   township_code=member.get("township_code")))


def _settled(stack: Stack, reporting: httpx.Client, inspections: httpx.Client, persons: int) -> bool:
    written = {r["rectification_id"]: r["status"] for r in expect(inspections.get("/rectifications"), 200)}
    ledger = reporting.get("/rectifications").json()
    coverage = reporting.get("/coverage", params={"year": YEAR})
    return ({e["rectification_id"]: e["status"] for e in ledger.get("entries", [])} == written
            and coverage.status_code == 200 and coverage.json()["all"]["registered"] == persons)


async def test_a_view_as_of_a_saved_moment_equals_what_the_live_view_showed_then(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack, admin, villages = await _stack(stack_factory, nats_server)
    registry, inspections = stack.client("registry", admin), stack.client("inspections", admin)
    reporting = stack.client("reporting", admin)
    views = Views(reporting)
    await wait_until(lambda: _settled(stack, reporting, inspections, PERSONS), timeout=90, interval=0.2,
                     message="the register and the ledger to reach reporting")
    # The demo loaders return when their commands are recorded; the relay may still be publishing
    # visits and plans. Saved views must hold every event written before the moment they are saved.
    await wait_until(views.caught_up, timeout=60, interval=0.5, message="reporting to apply every event")

    saved_at = datetime.now(UTC)  # every event so far occurred before this instant
    saved = views.get()
    assert saved["ledger"]["count"] > 0 and saved["coverage"]["all"]["registered"] == PERSONS

    # Things change after the moment: a new person, a visit, a rectification reported.
    person = expect(registry.post("/persons", json=person_body(random.Random(7), villages[0], 900)), 201)
    expect(registry.post(f"/persons/{person['person_id']}/visits", json={
        "visited_on": TODAY.isoformat(), "mode": "home", "needs": ["rehabilitation"]}), 201)
    assigned = next(e for e in saved["ledger"]["entries"] if e["status"] in ("assigned", "reopened"))
    officer = _as_staff(stack, f"{assigned['responsible_unit']}-officer")
    expect(officer.post(f"/rectifications/{assigned['rectification_id']}/report", json={
        "measures_taken": "已按要求完成整改", "evidence": ["demo://doc/as-of"], "reported_on": TODAY.isoformat()}), 200)
    visited = saved["coverage"]["all"]["visited"]
    await wait_until(lambda: _settled(stack, reporting, inspections, PERSONS + 1)
                     and views.get()["coverage"]["all"]["visited"] == visited + 1, timeout=60, interval=0.2,
                     message="the changes to reach reporting")
    now = views.get()
    for view in ("coverage", "ledger", "scoreboards"):
        assert now[view] != saved[view], f"the {view} view did not change: the test would prove nothing"

    past = views.get(as_of=saved_at)
    for view in ("coverage", "ledger", "scoreboards"):
        assert past[view] == saved[view], view
    # the same moment again comes from the cache and still agrees
    assert views.get(as_of=saved_at) == past
    # and as of now, the replay agrees with the live views (nothing is being written any more)
    assert views.get(as_of=datetime.now(UTC)) == now


async def test_a_moment_in_the_future_or_before_the_first_event_is_refused(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack: Stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    before_anything = datetime.now(UTC) - timedelta(seconds=1)
    seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    await wait_until(lambda: reporting.get("/coverage", params={"year": YEAR}).status_code == 200, timeout=30,
                     message="the district to reach reporting")
    for as_of, reason in ((datetime.now(UTC) + timedelta(hours=1), "in the future"),
                          (before_anything, "before the first event")):
        for path, params in (("/coverage", {"year": YEAR}), ("/rectifications", {}),
                             ("/views/scoreboards", {"year": YEAR})):
            response = reporting.get(path, params={**params, "as_of": as_of.isoformat()})
            assert response.status_code == 422 and reason in response.text, (path, response.text)
    naive = reporting.get("/coverage", params={"year": YEAR, "as_of": "2026-01-01T08:00:00"})
    assert naive.status_code == 422 and "UTC offset" in naive.text, naive.text
