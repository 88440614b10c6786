"""Erasure that erases: the real services over NATS, then every table, stream and log searched.

A person is registered, visited, given a plan whose texts name them, looked up by certificate
number and read in clear; then their personal data is erased. After reporting has taken in the
erasure, nothing anywhere — no table of any service's database, no message of any JetStream
stream, no line of any service's log — holds their name, resident ID, certificate number,
address or any free text written about them. The same ID can then be registered again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from sqlalchemy import MetaData, select

from services.stack.demo.pengshan import TOWNSHIPS, certificate_number, seed_organisation
from shared.auth import Role
from shared.db import create_engine
from shared.messaging.subjects import stream_name
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

YEAR = date.today().year
SERVICES = ("registry", "checklists", "inspections", "reporting")
TEMPLATE = {"title": "乡镇残疾人工作督导检查清单",
            "items": [{"item_id": "plans", "text": "一人一策制定到位", "weight": 5}]}


async def _table_text(database_url: str) -> str:
    """Every row of every table of a database, as one text."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            parts = []
            for table in metadata.sorted_tables:
                for row in await conn.execute(select(table)):
                    parts.append(repr(tuple(row)))
                    parts.extend(bytes(v).decode("utf-8", "replace") for v in row if isinstance(v, bytes | memoryview))
            return "\n".join(parts)
    finally:
        await engine.dispose()


async def _stream_text(url: str, namespace: str) -> str:
    """Every message of every service's JetStream stream, as one text."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        parts = []
        for service in SERVICES:
            try:
                info = await js.stream_info(stream_name(namespace, service))
            except nats.js.errors.NotFoundError:
                continue
            if not info.state.messages:
                continue
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(stream_name(namespace, service), seq)
                parts.append((message.data or b"").decode("utf-8", "replace"))
        return "\n".join(parts)
    finally:
        await client.close()


def _file_text(paths: list[Path]) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in paths if p.exists())


def _start_inspection(admin: httpx.Client, inspector: httpx.Client) -> str:
    """A group and a started inspection of the person's township; returns the inspection's URL."""
    township = TOWNSHIPS[0][0]
    group = expect(admin.post("/groups", json={"name": "第一督导组", "leader": "inspector-1",
                                               "township_codes": [township]}), 201)["group_id"]
    inspection = expect(inspector.post("/inspections", json={
        "group_id": group, "target_kind": "township", "target_code": township, "template_id": "township-check",
        "template_version": 1, "scheduled_on": date.today().isoformat()}), 201)["inspection_id"]
    expect(inspector.post(f"/inspections/{inspection}/start", json={}), 200)
    return f"/inspections/{inspection}"


def _write_about(inspector: httpx.Client, url: str, person: str, secrets: dict[str, str]) -> None:
    """A focus check with a note about the person, a finding from it, and its ledger entry."""
    expect(inspector.put(f"{url}/focus-checks/{person}", json={
        "archive_complete": False, "visited_this_year": True, "has_plan": True, "note": secrets["focus_note"]}), 200)
    finding = expect(inspector.post(f"{url}/findings", json={"person_id": person,
                                                             "description": secrets["finding"]}), 201)["finding_id"]
    expect(inspector.post(f"{url}/findings/{finding}/rectification", json={
        "responsible_unit": "federation", "measures": "补齐档案", "deadline": date.today().isoformat()}), 201)


async def test_after_erasure_nothing_anywhere_links_the_person_to_their_id_name_or_texts(
    stack_factory: Callable[[NatsServerProcess], Stack], nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    for service in SERVICES:
        stack.add(service)
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    inspections = stack.client("inspections", admin)
    inspector = stack.client("inspections", stack.token("inspector-1", Role.INSPECTOR))
    villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    expect(registry.post("/staff", json={"staff_id": "inspector-1", "display_name": "督导员01",
                                         "department": "federation", "roles": ["inspector"]}), 201)
    expect(stack.client("checklists", admin).post("/templates/township-check/versions", json=TEMPLATE), 201)
    certificate = certificate_number(random.Random(91))
    resident_id = certificate[:18]
    secrets = {
        "name": "欧阳测试娜", "address": "凤鸣街道幸福巷十七号", "what_they_need": "娜娜需要轮椅和康复训练",
        "what_they_can_do": "能做手工编织", "what_we_can_do": "联系残联辅具中心",
        "description": f"为欧阳测试娜({resident_id})申请轮椅", "note": f"轮椅已送到{resident_id}本人",
        "reason": "欧阳测试娜家属拒绝", "focus_note": "欧阳测试娜档案照片缺失",
        "finding": f"重点人员{resident_id}无一人一策",
    }
    person = expect(registry.post("/persons", json={
        "certificate_number": certificate, "name": secrets["name"], "address": secrets["address"],
        "village_code": villages[0], "hardship": ["living_alone"]}), 201)["person_id"]
    expect(registry.post(f"/persons/{person}/visits", json={
        "visited_on": f"{YEAR}-01-10", "mode": "home", "needs": ["rehabilitation"],
        **{k: secrets[k] for k in ("what_they_need", "what_they_can_do", "what_we_can_do")}}), 201)
    expect(registry.post(f"/persons/{person}/plans/{YEAR}"), 201)
    items = [expect(registry.post(f"/persons/{person}/plans/{YEAR}/items", json={
        "kind": "protection", "need": "rehabilitation", "description": secrets["description"],
        "responsible_department": "federation", "due_on": f"{YEAR}-12-31"}), 201)["item_id"] for _ in range(2)]
    expect(registry.post(f"/persons/{person}/plans/{YEAR}/items/{items[0]}/delivery", json={
        "delivered_on": date.today().isoformat(), "note": secrets["note"]}), 200)
    expect(registry.post(f"/persons/{person}/plans/{YEAR}/items/{items[1]}/cancellation",
                         json={"reason": secrets["reason"]}), 200)
    [found] = expect(registry.get("/persons", params={"certificate_number": certificate}), 200)
    assert found["name"] == secrets["name"]
    assert secrets["description"] in str(expect(registry.get(f"/persons/{person}/plans/{YEAR}"), 200))

    def learned() -> bool:
        templates = inspections.get("/templates").json()
        staff = {s["staff_id"] for s in inspections.get("/directory/staff").json()}
        return any(t["template_id"] == "township-check" for t in templates) and "inspector-1" in staff
    await wait_until(learned, timeout=30, message="the template and the inspector to reach inspections")
    inspection = _start_inspection(inspections, inspector)
    await wait_until(lambda: person in inspector.get(f"{inspection}/focus-persons").text, timeout=30,
                     message="the person to reach inspections")
    _write_about(inspector, inspection, person, secrets)
    assert secrets["focus_note"] in str(expect(inspections.get(inspection), 200))


    def coverage() -> dict[str, Any]:
        found: dict[str, Any] = expect(reporting.get("/coverage", params={"year": YEAR}), 200)["all"]
        return found
    await wait_until(lambda: reporting.get("/coverage", params={"year": YEAR}).status_code == 200
                     and coverage()["planned"] == 1, timeout=30, message="the plan to reach reporting")
    counts = coverage()
    expect(registry.post(f"/persons/{person}/erasure", json={}), 200)

    def reporting_saw_the_erasure() -> bool:
        response = reporting.get(f"/views/history/{person}")
        return response.status_code == 200 and "person.personal_data_erased" in response.text
    await wait_until(reporting_saw_the_erasure, timeout=30, message="reporting to take in the erasure")

    def inspections_forgot() -> bool:
        [check] = expect(inspections.get(inspection), 200)["focus_checks"]
        return check["note"] is None
    await wait_until(inspections_forgot, timeout=30, message="inspections to destroy the person's key")
    assert coverage() == counts and counts["registered"] == 1  # erasure keeps the counts
    # The same resident ID is a new person now, and nothing finds the old one by it.
    assert expect(registry.get("/persons", params={"certificate_number": certificate}), 200) == []
    again = expect(registry.post("/persons", json={"certificate_number": certificate, "name": "另一人",
                                                   "village_code": villages[0]}), 201)["person_id"]
    assert again != person
    stack.stop()  # logs and databases complete, WAL files checkpointed

    places = {f"{key} tables": await _table_text(process.env["QD_DATABASE_URL"])
              for key, process in stack.services.items()}
    places["streams"] = await _stream_text(nats_server.url, stack.namespace)
    places["logs"] = _file_text([stack.root / f"{key}.log" for key in stack.services])
    places["database files"] = _file_text([f for f in stack.root.parent.rglob("*.db*") if f.is_file()])
    # The search does see the events and the rows that name the person by their opaque id.
    assert all(person in places[where] for where in ("streams", "registry tables", "inspections tables",
                                                     "reporting tables")), places.keys()
    leaks = {(what, where) for what, text in {**secrets, "resident_id": resident_id}.items()
             for where, blob in places.items() if text in blob}
    assert not leaks, f"still readable after erasure: {sorted(leaks)}"

