"""The yearly survey form and visit attempts over HTTP: the real app over a real database, no NATS."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import Role
from shared.testing.http import bearer, error_of

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP, VILLAGE = "511403000000", "511403001000", "511403001001"
TODAY = date.today()
YEAR = TODAY.year
ITEM_KEYS = {"code", "label_zh", "label_en", "answer_type", "options", "required", "max_length", "show_if",
             "needs_code"}
ANSWERS: dict[str, Any] = {
    "housing_status": "rented", "dilapidated_housing": False, "schooling": "primary",
    "school_attendance": "not_school_age", "employment_status": "unable", "basic_pension": "drawing",
    "medical_insurance": "resident", "medical_subsidy": True, "social_assistance": ["extreme_poverty"],
    "disability_allowances": ["none"], "care_arrangement": "family", "care_service_need": "none",
    "elderly_care_status": "home", "elderly_care_need": True, "elderly_parents_carers": False,
    "family_doctor": True, "received_rehabilitation": True, "last_rehabilitation_on": TODAY.isoformat(),
    "services_received": ["assistive_devices"], "need_rehabilitation": True, "need_assistive_devices": False,
    "need_education": False, "need_employment": False, "need_care": True, "need_barrier_free": False,
    "need_culture_sports": False, "need_living_subsidy": False, "need_housing": False,
    "what_we_can_do": "每月上门康复一次",
}


def certificate_number(sequence: int) -> str:
    first17 = f"51140319800517{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return f"{first17}{check}42"


async def _person(client: httpx.AsyncClient, sequence: int) -> str:
    response = await client.post("/persons", json={"certificate_number": certificate_number(sequence),
                                                   "name": "张三", "village_code": VILLAGE})
    assert response.status_code == 201, response.text
    return str(response.json()["person_id"])


def _visit(**changes: Any) -> dict[str, Any]:
    return {"visited_on": TODAY.isoformat(), "mode": "home", "respondent": "family_member",
            "form_id": "yearly-survey", "form_version": 1, "answers": ANSWERS, **changes}


async def _visits(client: httpx.AsyncClient, person_id: str) -> list[dict[str, Any]]:
    stream = (await client.get(f"/streams/person-{person_id}")).json()
    return [e["data"] for e in stream["events"] if e["type"] == "visit.recorded"]


async def test_the_form_in_force_is_the_built_in_one_in_the_agreed_shape(
        app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    officer = bearer(application, "t1", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIP)
    current = (await client.get("/survey-forms/current", params={"year": YEAR}, headers=officer)).json()
    assert (current["form_id"], current["version"], current["title_zh"]) == (
        "yearly-survey", 1, "残疾人基本状况和需求年度调查表")
    items = [i for s in current["sections"] for i in s["items"]]
    assert all(set(i) == ITEM_KEYS for i in items) and len(items) >= 30
    job_help = next(i for i in items if i["code"] == "wants_job_help")
    assert job_help["show_if"] == {"item": "employment_status", "any_of": ["unemployed", "flexible"]}
    assert next(i for i in items if i["code"] == "need_barrier_free")["needs_code"] == "barrier_free"
    assert {o["code"] for o in current["collection"]["lost_reason"]} >= {"working_away", "refused", "no_contact"}
    assert (await client.get("/survey-forms/yearly-survey/versions/1")).json() == current
    assert error_of(await client.get("/survey-forms/yearly-survey/versions/9"))[:2] == (404, "not_found")


async def test_a_survey_on_the_form_is_recorded_with_its_needs_and_its_answers_sealed(
        app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person = await _person(client, 1)
    response = await client.post(f"/persons/{person}/visits", json=_visit(visit_id="phone-0001"))
    assert response.status_code == 201, response.text
    (visit,) = await _visits(client, person)
    assert (visit["outcome"], visit["respondent"], visit["form_version"], visit["needs"]) == (
        "reached", "family_member", 1, ["care_services", "rehabilitation"])
    assert "每月上门康复" not in str(visit) and set(visit["sealed_answers"]) == {"answers"}
    retried = await client.post(f"/persons/{person}/visits", json=_visit(visit_id="phone-0001"))
    assert error_of(retried)[:2] == (409, "rule_violated")  # an offline retry is not recorded twice


@pytest.mark.parametrize(("body", "field"), [
    ({"answers": {**ANSWERS, "shoe_size": 42}}, "answers.shoe_size"),
    ({"answers": {**ANSWERS, "family_doctor": "yes"}}, "answers.family_doctor"),
    ({"answers": {**ANSWERS, "housing_status": "castle"}}, "answers.housing_status"),
    ({"answers": {k: v for k, v in ANSWERS.items() if k != "schooling"}}, "answers.schooling"),
    ({"answers": {**ANSWERS, "pension_subsidy": True}}, "answers.pension_subsidy"),  # hidden: drawing a pension
    ({"answers": {**ANSWERS, "what_we_can_do": "长" * 2001}}, "answers.what_we_can_do"),
    ({"respondent": None}, "respondent"),
    ({"respondent": "neighbour"}, "respondent"),
    ({"form_version": 7}, "form_version"),
    ({"form_version": None}, "form_version"),
    ({"mode": "lost_to_follow_up", "respondent": None, "answers": {}}, "lost_reason"),
    ({"mode": "lost_to_follow_up", "respondent": None, "lost_reason": "moon"}, "lost_reason"),
    ({"visited_on": (TODAY + timedelta(days=1)).isoformat()}, "visited_on"),
])
async def test_answers_that_do_not_fit_are_refused_naming_the_item_and_nothing_is_written(
        app: tuple[FastAPI, httpx.AsyncClient], body: dict[str, Any], field: str) -> None:
    _, client = app
    person = await _person(client, 2)
    response = await client.post(f"/persons/{person}/visits", json=_visit(**body))
    status, _code, named = error_of(response)
    assert status == 422 and (named == field or field in str(response.json().get("errors"))), response.text
    assert await _visits(client, person) == []


async def test_a_lost_attempt_then_a_reached_one_and_the_old_body_still_works(
        app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person = await _person(client, 3)
    lost = {"visited_on": (TODAY - timedelta(days=3)).isoformat(), "mode": "lost_to_follow_up",
            "lost_reason": "working_away", "form_id": "yearly-survey", "form_version": 1}
    assert (await client.post(f"/persons/{person}/visits", json=lost)).status_code == 201
    assert (await client.post(f"/persons/{person}/visits", json=_visit(mode="phone"))).status_code == 201
    old = {"visited_on": TODAY.isoformat(), "mode": "home", "needs": ["medical"], "what_they_need": "轮椅"}
    assert (await client.post(f"/persons/{person}/visits", json=old)).status_code == 201  # a follow-up
    visits = await _visits(client, person)
    assert [(v["outcome"], v["lost_reason"], v["mode"]) for v in visits] == [
        ("lost", "working_away", "lost_to_follow_up"), ("reached", None, "phone"), ("reached", None, "home")]
    assert visits[2]["needs"] == ["medical"] and visits[2]["form_version"] == 1


async def test_an_admin_publishes_next_years_version_and_this_years_stays_in_force(
        app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    current = (await client.get("/survey-forms/current", params={"year": YEAR})).json()
    sections = [*current["sections"], {"code": "digital", "label_zh": "数字生活", "label_en": "Digital life", "items": [
        {"code": "uses_smartphone", "label_zh": "是否使用智能手机", "label_en": "Uses a smartphone?",
         "answer_type": "yesno", "required": True}]}]
    draft = {"year": YEAR + 1, "title_zh": f"{YEAR + 1}年调查表", "title_en": f"Survey {YEAR + 1}",
             "sections": sections}
    officer = bearer(application, "t1", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIP)
    refused = await client.put("/survey-forms/yearly-survey/draft", json=draft, headers=officer)
    assert error_of(refused)[:2] == (403, "forbidden")
    bad = {**draft, "sections": [{**sections[-1], "items": [{**sections[-1]["items"][0], "show_if": {
        "item": "nothing", "any_of": ["yes"]}}]}]}
    assert error_of(await client.put("/survey-forms/yearly-survey/draft", json=bad))[:3] == (
        422, "invalid", "sections.uses_smartphone")
    saved = await client.put("/survey-forms/yearly-survey/draft", json=draft)
    assert saved.status_code == 200 and saved.json()["draft"]["version"] == 2, saved.text
    stale = await client.post("/survey-forms/yearly-survey/draft/publication", json={"expected_version": 0})
    assert error_of(stale)[0] == 409
    published = await client.post("/survey-forms/yearly-survey/draft/publication",
                                  json={"expected_version": saved.json()["version"]})
    assert published.status_code == 201, published.text
    assert [v["version"] for v in published.json()["versions"]] == [1, 2]
    this_year = (await client.get("/survey-forms/current", params={"year": YEAR})).json()
    next_year = (await client.get("/survey-forms/current", params={"year": YEAR + 1})).json()
    assert (this_year["version"], next_year["version"], next_year["year"]) == (1, 2, YEAR + 1)
    person = await _person(client, 4)
    early = await client.post(f"/persons/{person}/visits", json=_visit(form_version=2))
    assert error_of(early)[:3] == (422, "invalid", "form_version")  # next year's form, this year's visit
