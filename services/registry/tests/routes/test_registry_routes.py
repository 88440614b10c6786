"""The registry's routes in-process: the real app over a real database, no NATS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import Role
from shared.testing.http import bearer, error_of, invalid_fields, undocumented_responses

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "511403000000", "511403001000", "511403002000"
VILLAGE = "511403001001"


def certificate_number(sequence: int = 123, category: int = 4, grade: int = 2) -> str:
    """A valid certificate number of a person born 1980-05-17 in Pengshan."""
    first17 = f"51140319800517{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return f"{first17}{check}{category}{grade}"


@pytest.fixture
def registry_departments() -> tuple[tuple[str, str], ...]:
    """One department: the assertions below name the whole list."""
    return (("health", "卫健局"),)


async def _register(client: httpx.AsyncClient, sequence: int = 123, **changes: Any) -> dict[str, Any]:
    body = {"certificate_number": certificate_number(sequence), "name": "张三", "address": "一村1号",
            "village_code": VILLAGE, "hardship": ["living_alone"], "registered_on": "2026-02-03", **changes}
    response = await client.post("/persons", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_every_route_needs_a_valid_token(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    for path in ("/persons", "/org-units", "/staff", "/streams/person-x"):
        assert error_of(await client.get(path, headers={"Authorization": ""})) == (401, "unauthenticated", None)
    assert error_of(await client.get("/persons", headers={"Authorization": "Bearer forged"}))[:2] == (
        401, "unauthenticated")


async def test_roles_and_township_scope_are_enforced(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    viewer = bearer(application, "v", Role.VIEWER)
    body = {"certificate_number": certificate_number(), "name": "张三", "village_code": VILLAGE}
    assert error_of(await client.post("/persons", json=body, headers=viewer))[:2] == (403, "forbidden")
    elsewhere = bearer(application, "t2", Role.TOWNSHIP_OFFICER, township_code=OTHER_TOWNSHIP)
    assert error_of(await client.post("/persons", json=body, headers=elsewhere))[:2] == (403, "forbidden")
    assert error_of(await client.get("/streams/person-x", headers=viewer))[:2] == (403, "forbidden")
    assert error_of(await client.get("/persons", headers=viewer))[:2] == (403, "forbidden")  # need to know
    assert (await client.get("/persons")).json() == []  # nothing was written


async def test_personal_data_is_clear_in_the_officers_township_and_masked_for_inspectors(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    application, client = app
    person = await _register(client)
    own = bearer(application, "t1", Role.TOWNSHIP_OFFICER, township_code=TOWNSHIP)
    other = bearer(application, "t2", Role.TOWNSHIP_OFFICER, township_code=OTHER_TOWNSHIP)
    inspector = bearer(application, "i1", Role.INSPECTOR)
    clear = (await client.get(f"/persons/{person['person_id']}", headers=own)).json()
    assert error_of(await client.get(f"/persons/{person['person_id']}", headers=other))[:2] == (403, "forbidden")
    masked = (await client.get(f"/persons/{person['person_id']}", headers=inspector)).json()
    assert (clear["personal_data"], clear["name"]) == ("clear", "张三")
    assert masked["personal_data"] == "masked" and masked["name"] != "张三" and masked["address"] is None


async def test_a_person_reads_back_in_the_documented_shape(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person = await _register(client)
    assert person == {"person_id": person["person_id"], "version": 1}
    body = (await client.get(f"/persons/{person['person_id']}")).json()
    assert body == {
        "person_id": person["person_id"], "version": 1, "township_code": TOWNSHIP, "village_code": VILLAGE,
        "category": 4, "grade": 2, "severe": True, "hardship": ["living_alone"], "sex": "male",
        "birth_year": 1980, "active": True, "registered_on": "2026-02-03",
        "certificate_number": certificate_number(), "name": "张三", "address": "一村1号", "personal_data": "clear",
    }
    found = (await client.get("/persons", params={"certificate_number": certificate_number()})).json()
    assert found == [body]
    assert (await client.get("/persons", params={"township_code": OTHER_TOWNSHIP})).json() == []


async def test_a_plan_reads_back_with_dates_as_iso_days(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = (await _register(client))["person_id"]
    plan = (await client.post(f"/persons/{person_id}/plans/2026")).json()
    item = (await client.post(f"/persons/{person_id}/plans/2026/items", json={
        "kind": "protection", "need": "rehabilitation", "description": "每月两次上门康复",
        "responsible_department": "health", "due_on": "2026-06-30"})).json()
    assert set(item) == {"plan_id", "version", "item_id"}
    delivered = await client.post(f"/persons/{person_id}/plans/2026/items/{item['item_id']}/delivery",
                                  json={"delivered_on": "2026-03-01"})
    assert delivered.status_code == 200, delivered.text
    body = (await client.get(f"/persons/{person_id}/plans/2026")).json()
    assert body == {
        "plan_id": plan["plan_id"], "person_id": person_id, "year": 2026, "version": 3,
        "township_code": TOWNSHIP, "village_code": VILLAGE, "personal_data": "clear",
        "items": [{"item_id": item["item_id"], "kind": "protection", "need": "rehabilitation",
                   "description": "每月两次上门康复", "responsible_department": "health", "due_on": "2026-06-30",
                   "status": "delivered", "overdue": False, "delivered_on": "2026-03-01", "note": None,
                   "cancel_reason": None, "service_code": None, "not_delivered_reason": None, "closed_on": None}],
    }


async def test_unknown_entities_are_404(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    assert error_of(await client.get("/persons/nobody"))[:2] == (404, "not_found")
    assert error_of(await client.post("/persons/nobody/corrections", json={"name": "李四"}))[:2] == (
        404, "not_found")
    person_id = (await _register(client))["person_id"]
    assert error_of(await client.get(f"/persons/{person_id}/plans/2026"))[:2] == (404, "not_found")
    assert error_of(await client.get("/streams/person-nobody"))[:2] == (404, "not_found")


async def test_a_stale_expected_version_is_409_and_changes_nothing(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    person_id = (await _register(client))["person_id"]
    fresh = await client.post(f"/persons/{person_id}/corrections", json={"name": "李四", "expected_version": 1})
    assert fresh.status_code == 200, fresh.text
    stale = await client.post(f"/persons/{person_id}/corrections", json={"name": "王五", "expected_version": 1})
    assert error_of(stale)[:2] == (409, "version_conflict")
    body = (await client.get(f"/persons/{person_id}")).json()
    assert (body["name"], body["version"]) == ("李四", 2)
    history = (await client.get(f"/streams/person-{person_id}")).json()
    assert (history["version"], history["chain_intact"], len(history["events"])) == (2, True, 2)
    first = history["events"][0]  # the envelope's wire form: CloudEvents names, UTC time
    assert (first["streamid"], first["streamversion"], first["type"]) == (f"person-{person_id}", 1,
                                                                          "person.registered")
    assert first["time"].endswith("Z") and first["prevhash"] == "" and len(first["hash"]) == 64


async def test_bad_input_is_422_naming_the_field(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    bad_village = await client.post("/persons", json={"certificate_number": certificate_number(), "name": "张三",
                                                      "village_code": "not-a-code"})
    assert error_of(bad_village)[:2] == (422, "invalid") and invalid_fields(bad_village) == {"village_code"}
    unknown_field = await client.post("/persons", json={"certificate_number": certificate_number(), "name": "张三",
                                                        "village_code": VILLAGE, "colour": "red"})
    assert invalid_fields(unknown_field) == {"colour"}
    bad_certificate = await client.post("/persons", json={"certificate_number": "123", "name": "张三",
                                                          "village_code": VILLAGE})
    assert error_of(bad_certificate) == (422, "invalid", "certificate_number")
    assert invalid_fields(await client.get("/persons", params={"limit": 0})) == {"query.limit"}
    assert (await client.get("/persons")).json() == []  # nothing was written


async def test_dev_tokens_sign_in_known_staff_only(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    enrolled = await client.post("/staff", json={"staff_id": "doc", "display_name": "医生", "department": "health",
                                                 "roles": ["department_officer"]})
    assert enrolled.json() == {"staff_id": "doc"}
    token = (await client.post("/auth/dev-token", json={"staff_id": "doc"})).json()
    assert (token["token_type"], token["roles"], token["department"]) == ("bearer", ["department_officer"], "health")
    as_doc = await client.get("/staff", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert as_doc.json() == [{"staff_id": "doc", "display_name": "医生", "department": "health",
                              "roles": ["department_officer"], "township_code": None, "active": True}]
    assert error_of(await client.post("/auth/dev-token", json={"staff_id": "nobody"}))[:2] == (404, "not_found")


async def test_organisation_lists(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    children = (await client.get("/org-units", params={"parent_code": TOWNSHIP})).json()
    assert children == [{"code": VILLAGE, "name": "一村", "level": "village", "parent_code": TOWNSHIP}]
    assert (await client.get("/departments")).json() == [
        {"code": "health", "name": "卫健局", "org_unit_code": None}]


async def test_every_route_documents_its_response(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, _ = app
    # The access log's export is a file (CSV or xlsx), not JSON.
    assert undocumented_responses(application) == ["GET /access-log.{extension}"]
