"""The service catalogue, plan proposals from a home visit and items not delivered, over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.registry.domain.default_services import DEFAULT_SERVICES
from shared.auth import Role
from shared.testing.http import bearer, error_of, invalid_fields

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "511403000000", "511403001000", "511403002000"
VILLAGE = "511403001001"
TODAY = date.today()
YEAR = TODAY.year
VISITED_ON = date(YEAR, 1, 10)


def certificate_number(sequence: int) -> str:
    first17 = f"51140319800517{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return f"{first17}{check}42"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _visited_person(client: httpx.AsyncClient, sequence: int, needs: list[str]) -> str:
    person = await _ok(await client.post("/persons", json={
        "certificate_number": certificate_number(sequence), "name": "张三", "village_code": VILLAGE}), 201)
    await _ok(await client.post(f"/persons/{person['person_id']}/visits", json={
        "visited_on": VISITED_ON.isoformat(), "mode": "home", "needs": needs}), 201)
    return str(person["person_id"])


async def test_the_catalogue_is_seeded_once_and_changed_and_retired_by_the_federation(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    seeded = await _ok(await client.post("/service-catalogue/defaults"))
    assert set(seeded["added"]) == set(DEFAULT_SERVICES) and seeded["already_there"] == []
    again = await _ok(await client.post("/service-catalogue/defaults"))
    assert again["added"] == [] and set(again["already_there"]) == set(DEFAULT_SERVICES)
    entries = {e["code"]: e for e in await _ok(await client.get("/service-catalogue"))}
    assert entries["basic_rehabilitation"]["responsible_department"] == "health"
    assert entries["housing_safety"]["responsible_department"] == "federation"  # housing is not registered here
    assert entries["employment_support"]["part"] == "income"

    rehab = entries["basic_rehabilitation"]
    fields = {k: rehab[k] for k in ("name_zh", "name_en", "need", "part", "responsible_department")}
    changed = await _ok(await client.put("/service-catalogue/basic_rehabilitation", json={
        **fields, "default_days": 60, "expected_version": rehab["version"]}))
    assert changed == {"code": "basic_rehabilitation", "version": 2}
    stale = await client.put("/service-catalogue/basic_rehabilitation", json={
        **fields, "default_days": 45, "expected_version": 1})
    assert error_of(stale)[0] == 409
    await _ok(await client.post("/service-catalogue/legal_aid/retirement", json={"reason": "司法局承接"}))
    assert "legal_aid" not in {e["code"] for e in await _ok(await client.get("/service-catalogue"))}
    retired = {e["code"]: e for e in await _ok(await client.get("/service-catalogue", params={"retired": True}))}
    assert retired["legal_aid"]["retired"] is True
    assert error_of(await client.post("/service-catalogue/legal_aid/retirement", json={}))[0] == 409

    officer = bearer(application, "t1", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIP)
    assert error_of(await client.post("/service-catalogue", headers=officer, json={
        "code": "x_service", **fields, "default_days": 10}))[:2] == (403, "forbidden")
    assert len(await _ok(await client.get("/service-catalogue", headers=officer))) == len(DEFAULT_SERVICES) - 1


async def test_a_bad_catalogue_entry_is_refused_naming_the_field(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    good = {"code": "home_rehab", "name_zh": "上门康复", "name_en": "Home rehabilitation", "need": "rehabilitation",
            "part": "protection", "responsible_department": "health", "default_days": 30}
    assert error_of(await client.post("/service-catalogue", json={**good, "need": "flying"})) == (
        422, "invalid", "need")
    assert error_of(await client.post("/service-catalogue", json={**good, "responsible_department": "police"}))[2] == \
        "responsible_department"
    assert "default_days" in invalid_fields(await client.post("/service-catalogue", json={**good, "default_days": 0}))
    assert "code" in invalid_fields(await client.post("/service-catalogue", json={**good, "code": "Bad Code"}))
    assert "part" in invalid_fields(await client.post("/service-catalogue", json={**good, "part": "other"}))
    await _ok(await client.post("/service-catalogue", json=good), 201)
    assert error_of(await client.post("/service-catalogue", json=good))[:2] == (409, "already_exists")
    assert error_of(await client.put("/service-catalogue/nothing", json={**good, "code": None}))[0] == 422
    body = {k: v for k, v in good.items() if k != "code"}
    assert error_of(await client.put("/service-catalogue/nothing", json=body))[0] == 404


async def test_a_visits_needs_become_a_proposal_that_is_confirmed_in_one_command(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    await _ok(await client.post("/service-catalogue/defaults"))
    person = await _visited_person(client, 1, ["rehabilitation", "employment", "other"])
    proposal = await _ok(await client.get(f"/persons/{person}/plans/{YEAR}/proposal"))
    assert proposal["plan_version"] == 0 and proposal["unanswered_needs"] == ["other"]
    assert [i["service_code"] for i in proposal["protection"]] == ["basic_rehabilitation"]
    assert proposal["protection"][0]["due_on"] == (VISITED_ON + timedelta(days=90)).isoformat()
    assert proposal["protection"][0]["responsible_department"] == "health"
    assert sorted(i["service_code"] for i in proposal["income"]) == ["employment_support", "skills_training"]
    assert proposal["services"]["basic_rehabilitation"]["name_en"] == "Basic rehabilitation service"

    # The officer drops one income item, edits the other's description and date, and confirms.
    employment = next(i for i in proposal["income"] if i["service_code"] == "employment_support")
    items = [*proposal["protection"], {**employment, "description": "推荐到社区工厂", "due_on": f"{YEAR}-12-31"}]
    bad = [*items, {**items[0], "need": "employment"}]  # the service answers rehabilitation: all refused
    refused = await client.post(f"/persons/{person}/plans/{YEAR}/proposal", json={"items": bad, "expected_version": 0})
    assert error_of(refused) == (422, "invalid", "items.2.service_code")
    assert error_of(await client.get(f"/persons/{person}/plans/{YEAR}"))[0] == 404  # no plan was drawn
    confirmed = await _ok(await client.post(f"/persons/{person}/plans/{YEAR}/proposal",
                                            json={"items": items, "expected_version": 0}), 201)
    assert confirmed["version"] == 3 and len(confirmed["item_ids"]) == 2
    plan = await _ok(await client.get(f"/persons/{person}/plans/{YEAR}"))
    assert [(i["service_code"], i["description"], i["status"]) for i in plan["items"]] == [
        ("basic_rehabilitation", "基本康复服务", "planned"), ("employment_support", "推荐到社区工厂", "planned")]
    stale = await client.post(f"/persons/{person}/plans/{YEAR}/proposal", json={"items": items, "expected_version": 0})
    assert error_of(stale)[:2] == (409, "version_conflict")
    assert (await _ok(await client.get(f"/persons/{person}/plans/{YEAR}/proposal")))["plan_version"] == 3

    other = bearer(application, "t2", Role.TOWNSHIP_OFFICER, township_code=OTHER_TOWNSHIP)
    assert error_of(await client.get(f"/persons/{person}/plans/{YEAR}/proposal", headers=other))[0] == 403
    assert error_of(await client.post(f"/persons/{person}/plans/{YEAR}/proposal", headers=other,
                                      json={"items": items}))[0] == 403
    viewer = bearer(application, "v", Role.VIEWER)
    assert error_of(await client.get(f"/persons/{person}/plans/{YEAR}/proposal", headers=viewer))[0] == 403


async def test_no_proposal_without_a_reached_visit_and_no_empty_confirmation(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = app
    person = await _ok(await client.post("/persons", json={
        "certificate_number": certificate_number(2), "name": "李四", "village_code": VILLAGE}), 201)
    pid = person["person_id"]
    assert error_of(await client.get(f"/persons/{pid}/plans/{YEAR}/proposal"))[0] == 404
    await _ok(await client.post(f"/persons/{pid}/visits", json={
        "visited_on": VISITED_ON.isoformat(), "mode": "lost_to_follow_up"}), 201)
    assert error_of(await client.get(f"/persons/{pid}/plans/{YEAR}/proposal"))[0] == 404
    assert "items" in invalid_fields(await client.post(f"/persons/{pid}/plans/{YEAR}/proposal", json={"items": []}))


async def test_an_item_is_followed_to_delivery_or_to_a_coded_reason(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    await _ok(await client.post("/service-catalogue/defaults"))
    person = await _visited_person(client, 3, ["rehabilitation", "employment"])
    proposal = await _ok(await client.get(f"/persons/{person}/plans/{YEAR}/proposal"))
    overdue_day = (TODAY - timedelta(days=1)).isoformat()
    items = [{**proposal["protection"][0], "due_on": overdue_day},
             {**proposal["income"][0], "due_on": (TODAY + timedelta(days=30)).isoformat()}]
    confirmed = await _ok(await client.post(f"/persons/{person}/plans/{YEAR}/proposal", json={"items": items}), 201)
    rehab_item, job_item = confirmed["item_ids"]
    plan = await _ok(await client.get(f"/persons/{person}/plans/{YEAR}"))
    yesterday_this_year = (TODAY - timedelta(days=1)).year == YEAR
    assert [i["overdue"] for i in plan["items"]] == [yesterday_this_year, False]

    health = bearer(application, "doc", Role.DEPARTMENT_OFFICER, department="health")
    path = f"/persons/{person}/plans/{YEAR}/items"
    assert "reason" in invalid_fields(await client.post(f"{path}/{job_item}/non-delivery", json={
        "reason": "bored", "closed_on": TODAY.isoformat()}))
    future = (TODAY + timedelta(days=2)).isoformat()
    assert error_of(await client.post(f"{path}/{job_item}/non-delivery", json={
        "reason": "refused", "closed_on": future})) == (422, "invalid", "closed_on")
    # Only the item's own department among department officers: hrss's item is not health's.
    assert error_of(await client.post(f"{path}/{job_item}/non-delivery", headers=health, json={
        "reason": "refused", "closed_on": TODAY.isoformat()}))[0] == 403
    await _ok(await client.post(f"{path}/{job_item}/non-delivery", json={
        "reason": "refused", "closed_on": TODAY.isoformat(), "note": "本人暂不愿外出务工"}))
    await _ok(await client.post(f"{path}/{rehab_item}/delivery", headers=health,
                                json={"delivered_on": TODAY.isoformat()}))
    assert error_of(await client.post(f"{path}/{rehab_item}/non-delivery", json={
        "reason": "died", "closed_on": TODAY.isoformat()}))[0] == 409
    plan = await _ok(await client.get(f"/persons/{person}/plans/{YEAR}"))
    rehab, job = plan["items"]
    assert (rehab["status"], rehab["overdue"]) == ("delivered", False)
    assert (job["status"], job["not_delivered_reason"], job["closed_on"], job["note"]) == (
        "not_delivered", "refused", TODAY.isoformat(), "本人暂不愿外出务工")
