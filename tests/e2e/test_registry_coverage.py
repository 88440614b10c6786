"""Registry → NATS → reporting, with the real services as processes."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, certificate_number, person_body, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

YEAR = date.today().year


def _start(make: Callable[[NatsServerProcess], Stack], nats: NatsServerProcess) -> Stack:
    stack = make(nats)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    return stack


def _coverage(reporting: httpx.Client, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = expect(reporting.get("/coverage", params={"year": YEAR, **params}), 200)
    return result


async def _wait_for_registered(reporting: httpx.Client, count: int, stack: Stack) -> None:
    def reached() -> bool:
        response = reporting.get("/coverage", params={"year": YEAR})
        return response.status_code == 200 and response.json()["all"]["registered"] == count
    try:
        await wait_until(reached, timeout=30, message=f"coverage to show {count} registered persons")
    except AssertionError:
        print(stack.logs())
        raise


def _register(registry: httpx.Client, villages: list[str], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [expect(registry.post("/persons", json=person_body(rng, villages[i % len(villages)], i)), 201)["person_id"]
            for i in range(n)]


async def test_coverage_follows_registrations_visits_and_plans(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server)
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=2, townships=TOWNSHIPS[:2])
    rng = random.Random(1)
    severe = [expect(registry.post("/persons", json={**person_body(rng, villages[0], i),
                                                     "certificate_number": certificate_number(rng, grade=1)}), 201)
              for i in range(2)]
    mild = [expect(registry.post("/persons", json={**person_body(rng, villages[2], 10 + i),
                                                   "certificate_number": certificate_number(rng, grade=4),
                                                   "hardship": []}), 201)
            for i in range(3)]
    ids = [p["person_id"] for p in severe + mild]
    visit = {"visited_on": f"{YEAR}-01-15", "mode": "home", "needs": ["rehabilitation"],
             "what_they_need": "康复训练"}
    for pid in ids[:3]:
        expect(registry.post(f"/persons/{pid}/visits", json=visit), 201)
    expect(registry.post(f"/persons/{ids[3]}/visits", json={**visit, "mode": "lost_to_follow_up", "needs": []}), 201)
    for pid in ids[:2]:
        expect(registry.post(f"/persons/{pid}/plans/{YEAR}"), 201)
    item = expect(registry.post(f"/persons/{ids[0]}/plans/{YEAR}/items", json={
        "kind": "protection", "need": "rehabilitation", "description": "每月两次上门康复",
        "responsible_department": "health", "due_on": f"{YEAR}-06-30"}), 201)
    health_officer = stack.token("doc", Role.DEPARTMENT_OFFICER, department="health")
    with stack.client("registry", health_officer) as as_health:
        expect(as_health.post(f"/persons/{ids[0]}/plans/{YEAR}/items/{item['item_id']}/delivery",
                              json={"delivered_on": f"{YEAR}-03-01"}), 200)

    await _wait_for_registered(reporting, 5, stack)

    def settled() -> bool:
        return _coverage(reporting)["all"]["delivered"] == 1
    await wait_until(settled, timeout=15, message="the delivered item to reach coverage")
    district = _coverage(reporting, depth=2)
    assert district["all"] == {"registered": 5, "attempted": 4, "visited": 3, "lost": 1, "planned": 2, "delivered": 1,
                               "attempted_rate": 0.8, "visited_rate": 0.6, "lost_rate": 0.2, "planned_rate": 0.4,
                               "delivered_rate": 0.2, "lost_reasons": {"not_recorded": 1}}
    assert district["severe"]["registered"] == 2 and district["severe"]["planned"] == 2
    first, second = district["children"]
    assert (first["code"], first["all"]["registered"], second["all"]["registered"]) == (TOWNSHIPS[0][0], 2, 3)
    assert first["children"][0]["all"]["visited"] == 2

    expect(registry.post(f"/persons/{ids[4]}/deregistration", json={"reason": "moved_away"}), 200)
    await _wait_for_registered(reporting, 4, stack)

    township_b_officer = stack.token("tb", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIPS[1][0])
    with stack.client("registry", township_b_officer) as officer:
        refused = officer.post("/persons", json=person_body(rng, villages[0], 99))
        assert refused.status_code == 403, refused.text
        elsewhere = officer.get(f"/persons/{ids[0]}")  # another township's person: need-to-know
        assert elsewhere.status_code == 403 and "演示" not in elsewhere.text, elsewhere.text
        own = expect(officer.get(f"/persons/{ids[2]}"), 200)
        assert own["personal_data"] == "clear"
    with stack.client("registry", stack.token("inspector-1", Role.INSPECTOR)) as inspector:
        masked = expect(inspector.get(f"/persons/{ids[0]}"), 200)
        assert masked["personal_data"] == "masked" and "演示" not in masked["name"]

    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.reporting", "rebuild", "coverage", "--check"],
        env={**stack.services["reporting"].env}, capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "matches" in check.stdout


SURVEY = {
    "housing_status": "own", "dilapidated_housing": False, "schooling": "junior", "school_attendance": "not_school_age",
    "employment_status": "farming", "basic_pension": "resident", "medical_insurance": "resident",
    "social_assistance": ["none"], "disability_allowances": ["living"], "care_arrangement": "self_care",
    "care_service_need": "none", "elderly_care_status": "under_60", "elderly_parents_carers": False,
    "family_doctor": True, "received_rehabilitation": False, "no_rehabilitation_reason": "distance",
    "services_received": ["none"], "need_rehabilitation": True, "need_assistive_devices": False,
    "need_education": False, "need_employment": False, "need_care": False, "need_barrier_free": True,
    "need_culture_sports": False, "need_living_subsidy": False, "need_housing": False,
    "what_they_can_do": "能做简单农活",
}
"""A complete survey on the built-in form version 1."""


async def test_a_lost_visit_then_a_reached_one_counts_as_reached_and_the_lost_are_counted_with_reasons(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server)
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=2, townships=TOWNSHIPS[:1])
    ids = _register(registry, villages[:1], 4, seed=11)
    form = expect(registry.get("/survey-forms/current", params={"year": YEAR}), 200)
    on_form = {"form_id": form["form_id"], "form_version": form["version"]}

    def lost(pid: str, day: int, reason: str) -> None:
        expect(registry.post(f"/persons/{pid}/visits", json={
            "visited_on": f"{YEAR}-01-{day:02d}", "mode": "lost_to_follow_up", "lost_reason": reason, **on_form}), 201)

    lost(ids[0], 5, "working_away")  # then reached: counts as reached
    expect(registry.post(f"/persons/{ids[0]}/visits", json={
        "visited_on": f"{YEAR}-01-20", "mode": "home", "respondent": "self", "answers": SURVEY, **on_form}), 201)
    lost(ids[1], 6, "no_contact")  # lost twice: counted once, by the latest reason
    lost(ids[1], 21, "refused")
    lost(ids[2], 7, "no_contact")
    # ids[3]: not attempted at all

    await _wait_for_registered(reporting, 4, stack)

    def settled() -> bool:
        figures = _coverage(reporting)["all"]
        return (figures["attempted"], figures["visited"], figures["lost"]) == (3, 1, 2)
    try:
        await wait_until(settled, timeout=30, message="the visit attempts to reach coverage")
    except AssertionError:
        print(stack.logs())
        raise
    district = _coverage(reporting, depth=2)
    expected = {"registered": 4, "attempted": 3, "visited": 1, "lost": 2, "attempted_rate": 0.75,
                "visited_rate": 0.25, "lost_rate": 0.5, "lost_reasons": {"no_contact": 1, "refused": 1}}
    (township,) = district["children"]
    village = next(v for v in township["children"] if v["code"] == villages[0])
    for unit in (district, township, village):
        assert {k: unit["all"][k] for k in expected} == expected, unit["code"]
    persons = expect(reporting.get("/views/coverage/persons", params={"year": YEAR, "missing": "visit"}), 200)
    shown = {p["person_id"]: (p["lost_to_follow_up"], p["lost_reason"]) for p in persons["persons"]}
    assert shown == {ids[1]: (True, "refused"), ids[2]: (True, "no_contact"), ids[3]: (False, None)}
    (visit,) = [e for e in expect(registry.get(f"/streams/person-{ids[0]}"), 200)["events"]
                if e["type"] == "visit.recorded" and e["data"]["outcome"] == "reached"]
    assert visit["data"]["needs"] == ["barrier_free", "rehabilitation"]


async def test_restarting_reporting_mid_stream_counts_nothing_twice(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server)
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=2, townships=TOWNSHIPS[:1])
    _register(registry, villages, 40, seed=2)
    stack.services["reporting"].kill()
    with ThreadPoolExecutor(1) as pool:
        more = pool.submit(_register, registry, villages, 40, 3)
        stack.services["reporting"].start()
        more.result()
    await _wait_for_registered(reporting, 80, stack)
    stack.services["reporting"].stop()
    stack.services["reporting"].start()
    _register(registry, villages, 1, seed=4)
    await _wait_for_registered(reporting, 81, stack)


async def test_commands_succeed_while_nats_is_down_and_nothing_is_lost(
    stack_factory: Any, nats_server_fn: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server_fn)
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=2, townships=TOWNSHIPS[:1])
    _register(registry, villages, 5, seed=5)
    await _wait_for_registered(reporting, 5, stack)
    nats_server_fn.stop()
    _register(registry, villages, 20, seed=6)
    health = registry.get("/health").json()
    assert health["outbox_backlog"] >= 20, health
    nats_server_fn.start()
    await _wait_for_registered(reporting, 25, stack)

    def drained() -> bool:
        return registry.get("/health").json()["outbox_backlog"] == 0
    await wait_until(drained, timeout=15, message="the outbox to drain")


async def test_two_concurrent_updates_to_one_person_one_wins_the_other_gets_409(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server)
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry = stack.client("registry", admin)
    villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    (pid,) = _register(registry, villages, 1, seed=7)
    version = expect(registry.get(f"/persons/{pid}"), 200)["version"]

    def correct(name: str) -> httpx.Response:
        with stack.client("registry", admin) as client:
            return client.post(f"/persons/{pid}/corrections", json={"name": name, "expected_version": version})

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(correct, ["甲演示", "乙演示"]))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    conflict = next(r for r in responses if r.status_code == 409).json()
    assert (conflict["error"], conflict.get("field")) == ("version_conflict", None)
    winner = next(r for r in responses if r.status_code == 200)
    assert expect(registry.get(f"/persons/{pid}"), 200)["version"] == winner.json()["version"] == version + 1


def test_the_event_catalogue_is_served_as_asyncapi(stack_factory: Any, nats_server: NatsServerProcess) -> None:
    stack = stack_factory(nats_server)
    stack.add("registry")
    stack.start()
    with stack.client("registry") as anonymous:
        document = expect(anonymous.get("/asyncapi.json"), 200)
        openapi = expect(anonymous.get("/openapi.json"), 200)
        # The stack's own pages may call the registry from the browser; other sites, even local ones, may not.
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        own = stack.services["registry"].url
        local = anonymous.options("/auth/dev-token", headers={"Origin": own, **preflight})
        foreign = [anonymous.options("/auth/dev-token", headers={"Origin": origin, **preflight})
                   for origin in ("http://evil.example", "http://127.0.0.1:1")]
    assert local.headers.get("access-control-allow-origin") == own
    assert not any("access-control-allow-origin" in r.headers for r in foreign)
    assert document["asyncapi"].startswith("3.")
    channel = document["channels"]["person.registered"]
    assert channel["address"] == f"{stack.namespace}.registry.{{department}}.person.registered"
    schema = document["components"]["schemas"]["PersonRegisteredEvent"]
    assert {"streamid", "schemaversion", "data"} <= set(schema["properties"])
    assert "/persons" in openapi["paths"]
