"""From needs to a plan, over real NATS: a home visit with a rehabilitation need → a proposal from the
service catalogue → confirmed items → delivery → reporting's rehabilitation indicator for the
village moving from 0% to 100%."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

TODAY = date.today()
YEAR = TODAY.year


def _indicator(reporting: httpx.Client, **params: Any) -> dict[str, Any] | None:
    response = reporting.get("/rehabilitation", params={"year": YEAR, **params})
    return response.json() if response.status_code == 200 else None  # 404 until the org units arrive


async def _wait_for(reporting: httpx.Client, stack: Stack, unit: str, with_need: int, received: int) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def reached() -> bool:
        body = _indicator(reporting, unit=unit, depth=0)
        if body is not None:
            found.update(body)
        return body is not None and (body["with_need"], body["received"]) == (with_need, received)
    try:
        await wait_until(reached, timeout=30,
                         message=f"reporting to count {received} of {with_need} in need in {unit}")
    except AssertionError:
        print(stack.logs())
        raise
    return found


async def test_a_rehabilitation_need_is_planned_delivered_and_counted(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=2, townships=TOWNSHIPS[:2])  # seeds the catalogue
    village, township = villages[0], TOWNSHIPS[0][0]
    person = expect(registry.post("/persons", json=person_body(random.Random(7), village, 1)), 201)["person_id"]
    officer = stack.token("township-1", Role.TOWNSHIP_OFFICER, township_code=township)
    with stack.client("registry", officer) as as_officer:
        expect(as_officer.post(f"/persons/{person}/visits", json={
            "visited_on": TODAY.isoformat(), "mode": "home", "needs": ["rehabilitation", "employment"],
            "what_they_need": "康复训练，想找份工作"}), 201)

        before = await _wait_for(reporting, stack, village, with_need=1, received=0)
        assert (before["rate"], before["meets_target"], before["target"]) == (0.0, False, 0.8)
        district = _indicator(reporting, depth=2)
        assert district is not None and village in {u["code"] for u in district["below_target"]}

        proposal = expect(as_officer.get(f"/persons/{person}/plans/{YEAR}/proposal"), 200)
        (rehab,) = proposal["protection"]
        assert (rehab["service_code"], rehab["responsible_department"]) == ("basic_rehabilitation", "health")
        assert rehab["due_on"] == (TODAY + timedelta(days=90)).isoformat()
        assert {i["service_code"] for i in proposal["income"]} == {"employment_support", "skills_training"}
        job = next(i for i in proposal["income"] if i["service_code"] == "employment_support")
        confirmed = expect(as_officer.post(f"/persons/{person}/plans/{YEAR}/proposal", json={
            "items": [{**rehab, "description": "每周两次上门康复训练"}, job],
            "expected_version": proposal["plan_version"]}), 201)
        rehab_item, job_item = confirmed["item_ids"]

    health = stack.token("doc", Role.DEPARTMENT_OFFICER, department="health")
    with stack.client("registry", health) as as_health:
        expect(as_health.post(f"/persons/{person}/plans/{YEAR}/items/{rehab_item}/delivery",
                              json={"delivered_on": TODAY.isoformat()}), 200)
    expect(registry.post(f"/persons/{person}/plans/{YEAR}/items/{job_item}/non-delivery",
                         json={"reason": "refused", "closed_on": TODAY.isoformat()}), 200)

    after = await _wait_for(reporting, stack, village, with_need=1, received=1)
    assert (after["rate"], after["meets_target"]) == (1.0, True)
    district = _indicator(reporting, depth=2)
    assert district is not None and district["below_target"] == []
    plan = expect(registry.get(f"/persons/{person}/plans/{YEAR}"), 200)
    assert [(i["service_code"], i["status"]) for i in plan["items"]] == [
        ("basic_rehabilitation", "delivered"), ("employment_support", "not_delivered")]

    check = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "services.reporting", "rebuild", "rehabilitation", "--check"],
        env={**stack.services["reporting"].env}, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
