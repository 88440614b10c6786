"""Registry + checklists + inspections + reporting on one NATS: templates, inspections, the ledger, overdue.

Every service is the real one, started as a process; the inspections service learns the template,
the staff and the persons only from the other services' events.
"""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import openpyxl
import pytest

from services.stack.demo.pengshan import (
    DEMO_STAFF,
    TOWNSHIPS,
    certificate_number,
    load_registry_demo,
    person_body,
    seed_organisation,
)
from services.stack.demo.supervision import load_supervision_demo
from shared.auth import Role
from shared.testing.http import error_of, invalid_fields
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

TODAY = date.today()
YEAR = TODAY.year
TOWNSHIP, OTHER_TOWNSHIP = TOWNSHIPS[0][0], TOWNSHIPS[1][0]
TEMPLATE = {
    "title": "乡镇残疾人工作督导检查清单",
    "items": [
        {"item_id": "archive", "text": "残疾人档案齐全、动态更新", "guidance": "抽查10份档案", "weight": 3},
        {"item_id": "visits", "text": "年初入户调研全覆盖", "guidance": "查看调研表", "weight": 2,
         "evidence_required": True},
        {"item_id": "plans", "text": "一人一策制定到位", "weight": 5},
    ],
}
STAFF = [
    ("inspector-1", "督导员01", "federation", ["inspector"]),
    ("inspector-2", "督导员02", "federation", ["inspector"]),
    ("inspector-3", "督导员03", "federation", ["inspector"]),
    ("health-officer", "卫健局专干", "health", ["department_officer"]),
    ("civil_affairs-officer", "民政局专干", "civil_affairs", ["department_officer"]),
]


class World:
    """The running stack and a client per actor."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        admin = stack.token("admin", Role.FEDERATION_ADMIN)
        self.registry = stack.client("registry", admin)
        self.checklists = stack.client("checklists", admin)
        self.admin = stack.client("inspections", admin)
        self.reporting = stack.client("reporting", admin)
        roles = {staff_id: (department, [Role(r) for r in rs]) for staff_id, _, department, rs in STAFF}
        self.as_staff: dict[str, httpx.Client] = {
            staff_id: stack.client("inspections", stack.token(staff_id, *rs, department=department))
            for staff_id, (department, rs) in roles.items()}

    async def wait(self, condition: Callable[[], bool], what: str) -> None:
        """Wait for ``condition``; on timeout, show the services' logs."""
        try:
            await wait_until(condition, timeout=30, message=what)
        except AssertionError:
            print(self.stack.logs())
            raise


async def _world(make: Callable[[NatsServerProcess], Stack], nats: NatsServerProcess) -> tuple[World, list[str]]:
    """Start the four services, seed the registry, publish the template; returns the focus persons."""
    stack = make(nats)
    for name in ("registry", "checklists", "inspections", "reporting"):
        stack.add(name)
    stack.start()
    world = World(stack)
    villages = seed_organisation(world.registry, villages_per_township=1, townships=TOWNSHIPS[:2])
    for staff_id, name, department, roles in STAFF:
        expect(world.registry.post("/staff", json={"staff_id": staff_id, "display_name": name,
                                                    "department": department, "roles": roles}), 201)
    rng = random.Random(4)
    severe = expect(world.registry.post("/persons", json={
        **person_body(rng, villages[0], 1), "certificate_number": certificate_number(rng, grade=1)}), 201)
    expect(world.registry.post("/persons", json={
        **person_body(rng, villages[0], 2), "certificate_number": certificate_number(rng, grade=4),
        "hardship": []}), 201)
    expect(world.registry.post(f"/persons/{severe['person_id']}/visits", json={
        "visited_on": f"{YEAR}-01-10", "mode": "home", "needs": ["rehabilitation"]}), 201)
    expect(world.checklists.post("/templates/township-check/versions", json=TEMPLATE), 201)

    def learned() -> bool:
        templates = world.admin.get("/templates").json()
        staff = {s["staff_id"] for s in world.admin.get("/directory/staff").json()}
        departments = {d["code"] for d in world.admin.get("/directory/departments").json()}
        return (any(t["template_id"] == "township-check" for t in templates)
                and {s[0] for s in STAFF} <= staff and "health" in departments)
    await world.wait(learned, "the template, staff and departments to reach inspections through NATS")
    return world, [severe["person_id"]]


def _form_group(world: World) -> str:
    body = {"name": "第一督导组", "leader": "inspector-1", "members": ["inspector-2"],
            "township_codes": [TOWNSHIP], "unit_codes": ["health"]}
    group_id: str = expect(world.admin.post("/groups", json=body), 201)["group_id"]
    return group_id


def _schedule(client: httpx.Client, group_id: str, **overrides: Any) -> httpx.Response:
    body = {"group_id": group_id, "target_kind": "township", "target_code": TOWNSHIP,
            "template_id": "township-check", "template_version": 1, "scheduled_on": TODAY.isoformat(), **overrides}
    return client.post("/inspections", json=body)


async def test_inspection_findings_and_the_rectification_ledger_end_to_end(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    world, (severe_person,) = await _world(stack_factory, nats_server)
    leader, member = world.as_staff["inspector-1"], world.as_staff["inspector-2"]
    health, civil = world.as_staff["health-officer"], world.as_staff["civil_affairs-officer"]
    group_id = _form_group(world)

    inspection = expect(_schedule(leader, group_id), 201)["inspection_id"]
    url = f"/inspections/{inspection}"
    expect(leader.post(f"{url}/start", json={}), 200)

    def visit_learned() -> bool:  # the visit comes after the facts _world waits for, on the same stream
        persons = expect(leader.get(f"{url}/focus-persons"), 200)["persons"]
        return any(p["registry_says"]["visited_this_year"] for p in persons)
    await world.wait(visit_learned, "the registry's visit to reach inspections through NATS")
    focus = expect(leader.get(f"{url}/focus-persons"), 200)
    assert [p["person_id"] for p in focus["persons"]] == [severe_person]
    assert focus["persons"][0]["registry_says"] == {"visited_this_year": True, "has_plan": False}
    expect(leader.put(f"{url}/items/archive", json={"result": "fail", "note": "3份档案缺失"}), 200)
    expect(member.put(f"{url}/items/visits", json={"result": "pass", "evidence": ["photo://visits-1"]}), 200)
    expect(leader.put(f"{url}/items/plans", json={"result": "fail", "note": "一人一策未制定"}), 200)
    expect(leader.put(f"{url}/focus-checks/{severe_person}", json={
        "archive_complete": True, "visited_this_year": True, "has_plan": False}), 200)
    completed = expect(leader.post(f"{url}/completion", json={}), 200)
    assert completed["status"] == "completed" and completed["score"] == 20.0

    findings = {}
    for key, body in (("archive", {"item_id": "archive", "description": "3份残疾人档案缺失"}),
                      ("plans", {"item_id": "plans", "description": "重度残疾人一人一策未制定"}),
                      ("focus", {"person_id": severe_person, "description": "重点人员无一人一策"})):
        findings[key] = expect(leader.post(f"{url}/findings", json=body), 201)["finding_id"]
    archive = expect(leader.post(f"{url}/findings/{findings['archive']}/rectification", json={
        "responsible_unit": "health", "measures": "补齐档案并建立动态更新机制",
        "deadline": (TODAY + timedelta(days=10)).isoformat()}), 201)
    plans = expect(member.post(f"{url}/findings/{findings['plans']}/rectification", json={
        "responsible_unit": "civil_affairs", "measures": "一月内完成一人一策",
        "deadline": (TODAY + timedelta(days=5)).isoformat()}), 201)
    assert (archive["number"], plans["number"]) == (f"ZG-{YEAR}-0001", f"ZG-{YEAR}-0002")

    rect = f"/rectifications/{archive['rectification_id']}"
    report = {"measures_taken": "已补齐3份档案", "evidence": ["doc://archive-1"]}
    refused = civil.post(f"{rect}/report", json=report)
    assert error_of(refused) == (403, "forbidden", None), refused.text
    expect(health.post(f"{rect}/report", json=report), 200)
    expect(member.post(f"{rect}/reopening", json={"reason": "抽查仍缺1份"}), 200)
    expect(health.post(f"{rect}/report", json={**report, "measures_taken": "已全部补齐"}), 200)
    no_evidence = leader.post(f"{rect}/verification", json={"note": "复查无误", "evidence": []})
    assert invalid_fields(no_evidence) == {"evidence"}, no_evidence.text
    closed = expect(leader.post(f"{rect}/verification", json={"note": "复查无误", "evidence": ["photo://ok"]}), 200)
    assert closed["status"] == "closed"
    assert leader.post(f"{rect}/reopening", json={"reason": "x"}).status_code == 409

    def ledger_settled() -> bool:
        body = world.reporting.get("/rectifications").json()
        return [e["status"] for e in body.get("entries", [])] == ["closed", "assigned"]
    await world.wait(ledger_settled, "the ledger to reach reporting")
    entries = expect(world.reporting.get("/rectifications"), 200)["entries"]
    first = entries[0]
    assert [s["kind"] for s in first["history"]] == ["opened", "reported", "reopened", "reported", "closed"]
    assert first["closed_on"] == TODAY.isoformat() and first["responsible_unit_name"] == "区卫健局"
    assert first["source_inspection"]["label"] == f"第一督导组 {TODAY.isoformat()} {TOWNSHIPS[0][1]}"
    assert not any(e["overdue"] for e in entries)

    later = (TODAY + timedelta(days=30)).isoformat()
    overdue = expect(world.reporting.get("/rectifications/overdue", params={"today": later}), 200)
    assert overdue["overdue"] == 1 and overdue["open"] == 1
    assert [(u["code"], u["overdue"], u["overdue_numbers"]) for u in overdue["by_unit"]] == [
        ("civil_affairs", 1, [f"ZG-{YEAR}-0002"])]
    assert [(t["code"], t["name"], t["overdue"]) for t in overdue["by_township"]] == [
        (TOWNSHIP, TOWNSHIPS[0][1], 1)]
    assert expect(world.reporting.get("/rectifications/overdue"), 200)["overdue"] == 0

    sheet = world.reporting.get("/rectifications/ledger.xlsx", params={"today": later})
    assert sheet.status_code == 200, sheet.text
    rows = _sheet_rows(sheet.content)
    assert rows[1] == ["序号", "编号", "来源检查", "问题", "责任单位", "整改措施", "整改期限", "状态", "销号日期"]
    assert "整改台账" in rows[0][0]
    assert rows[2][:2] == ["1", f"ZG-{YEAR}-0001"] and rows[2][7] == "已销号" and rows[2][8] == TODAY.isoformat()
    assert rows[3][1] == f"ZG-{YEAR}-0002" and rows[3][4] == "区民政局" and "逾期25天" in rows[3][7]
    assert len(rows) == 4

    exported = world.reporting.get("/rectifications/ledger.csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][0] == "序号" and [r[1] for r in table[1:]] == [f"ZG-{YEAR}-0001", f"ZG-{YEAR}-0002"]

    def findings_settled() -> bool:
        groups = world.reporting.get("/inspections/open-findings").json()["groups"]
        return bool(groups) and groups[0]["open"] == 2
    await world.wait(findings_settled, "open findings to reach reporting")
    group = expect(world.reporting.get("/inspections/open-findings"), 200)["groups"][0]
    assert (group["name"], group["not_in_ledger"], group["awaiting_unit"]) == ("第一督导组", 1, 1)
    scores = expect(world.reporting.get("/inspections/scores"), 200)
    assert [(t["township_code"], t["latest_score"]) for t in scores["townships"]] == [(TOWNSHIP, 20.0)]
    items = {i["item_id"]: i for i in scores["items"]}
    assert items["archive"]["pass_rate"] == 0 and items["visits"]["pass_rate"] == 1
    assert items["plans"]["text"] == "一人一策制定到位"
    for model in ("ledger", "ledger_units", "inspections", "inspection_templates"):
        _rebuild_check(world.stack, "reporting", model)
    for facts in ("templates", "directory", "persons"):
        _rebuild_check(world.stack, "inspections", facts)


async def test_refusals_say_why_and_change_nothing(stack_factory: Any, nats_server: NatsServerProcess) -> None:
    world, _ = await _world(stack_factory, nats_server)
    leader, outsider = world.as_staff["inspector-1"], world.as_staff["inspector-3"]

    not_admin = leader.post("/groups", json={"name": "x", "leader": "inspector-1", "township_codes": [TOWNSHIP]})
    assert error_of(not_admin) == (403, "forbidden", None)
    with world.stack.client("inspections") as anonymous:
        assert anonymous.get("/groups").status_code == 401
    unknown_staff = world.admin.post("/groups", json={"name": "x", "leader": "nobody", "township_codes": [TOWNSHIP]})
    assert error_of(unknown_staff) == (422, "invalid", "members")
    assert world.admin.post("/groups", json={"name": "x"}).status_code == 422
    group_id = _form_group(world)

    unknown = _schedule(leader, group_id, template_version=2)
    assert error_of(unknown) == (422, "invalid", "template_version"), unknown.text
    assert _schedule(outsider, group_id).status_code == 403
    uncovered = _schedule(leader, group_id, target_code=OTHER_TOWNSHIP)
    assert error_of(uncovered) == (409, "rule_violated", None)
    inspection = expect(_schedule(leader, group_id), 201)
    url = f"/inspections/{inspection['inspection_id']}"
    early = leader.put(f"{url}/items/archive", json={"result": "pass"})
    assert error_of(early) == (409, "rule_violated", None)
    started = expect(leader.post(f"{url}/start", json={}), 200)
    assert outsider.put(f"{url}/items/archive", json={"result": "pass"}).status_code == 403
    no_evidence = leader.put(f"{url}/items/visits", json={"result": "pass"})
    assert error_of(no_evidence) == (422, "invalid", "evidence")
    stale = leader.put(f"{url}/items/archive", json={"result": "pass", "expected_version": started["version"] - 1})
    assert stale.status_code == 409 and stale.json()["error"] == "version_conflict"
    assert leader.put(f"{url}/items/nope", json={"result": "pass"}).status_code == 422
    assert leader.put(f"{url}/focus-checks/someone-else", json={
        "archive_complete": True, "visited_this_year": True, "has_plan": True}).status_code == 422
    assert leader.post(f"{url}/completion", json={}).status_code == 409
    after = expect(leader.get(url), 200)
    assert after["version"] == started["version"] and all(i["result"] is None for i in after["items"])

    expect(leader.put(f"{url}/items/archive", json={"result": "fail", "note": "缺档案"}), 200)
    finding = expect(leader.post(f"{url}/findings", json={"item_id": "archive", "description": "缺档案"}), 201)
    assign = f"{url}/findings/{finding['finding_id']}/rectification"
    past = leader.post(assign, json={"responsible_unit": "health", "measures": "补齐",
                                     "deadline": (TODAY - timedelta(days=1)).isoformat()})
    assert error_of(past) == (422, "invalid", "deadline")
    bad_unit = leader.post(assign, json={"responsible_unit": "nowhere", "measures": "补齐",
                                         "deadline": (TODAY + timedelta(days=3)).isoformat()})
    assert bad_unit.status_code == 422
    rect = expect(leader.post(assign, json={"responsible_unit": "health", "measures": "补齐",
                                            "deadline": (TODAY + timedelta(days=3)).isoformat()}), 201)
    assert rect["number"] == f"ZG-{YEAR}-0001", "refused assignments must not use up ledger numbers"
    again = leader.post(assign, json={"responsible_unit": "health", "measures": "补齐",
                                      "deadline": (TODAY + timedelta(days=3)).isoformat()})
    assert error_of(again) == (409, "rule_violated", None)
    entry = f"/rectifications/{rect['rectification_id']}"
    inspector_reports = leader.post(f"{entry}/report", json={"measures_taken": "x", "evidence": ["a"]})
    assert inspector_reports.status_code == 403
    assert world.as_staff["health-officer"].post(f"{entry}/verification", json={
        "note": "ok", "evidence": ["a"]}).status_code == 403
    assert world.as_staff["health-officer"].post(f"{entry}/report", json={
        "measures_taken": "已补齐", "evidence": []}).status_code == 422
    no_reason = leader.post(f"{entry}/deadline-extension", json={
        "deadline": (TODAY + timedelta(days=9)).isoformat(), "reason": ""})
    assert no_reason.status_code == 422
    expect(leader.post(f"{entry}/deadline-extension", json={
        "deadline": (TODAY + timedelta(days=9)).isoformat(), "reason": "需协调财政资金"}), 200)
    ledger = expect(world.admin.get(entry), 200)
    assert ledger["version"] == 2 and ledger["status"] == "assigned"
    assert [h["type"] for h in ledger["history"]] == ["rectification.assigned", "rectification.deadline_extended"]


def _rebuild_check(stack: Stack, service: str, model: str) -> None:
    """``python -m services.<service> rebuild <model> --check`` must find the live tables match the stream."""
    check = subprocess.run([sys.executable, "-m", f"services.{service}", "rebuild", model, "--check"],
                           env={**stack.services[service].env}, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "match" in check.stdout, check.stdout + check.stderr


def _sheet_rows(content: bytes) -> list[list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    assert sheet.freeze_panes == "A3" and sheet.print_title_rows == "$1:$2"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.column_dimensions["D"].width >= 30 and sheet.cell(3, 4).alignment.wrap_text
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


async def test_the_supervision_demo_loads_a_realistic_ledger(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = stack_factory(nats_server)
    for name in ("registry", "checklists", "inspections", "reporting"):
        stack.add(name)
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry = stack.client("registry", admin)
    seed_organisation(registry, villages_per_township=2)
    for member in DEMO_STAFF:
        expect(registry.post("/staff", json=member), 201)
    async with httpx.AsyncClient(base_url=stack.services["registry"].url, timeout=60, trust_env=False,
                                 headers={"Authorization": f"Bearer {admin}"}) as client:
        await load_registry_demo(client, persons=120, year=YEAR, today=TODAY)
    expect(stack.client("checklists", admin).post("/templates/township-check/versions", json=TEMPLATE), 201)
    departments = {m["staff_id"]: m for m in DEMO_STAFF}

    def as_staff(staff_id: str) -> httpx.Client:
        member = departments[staff_id]
        token = stack.token(staff_id, *[Role(r) for r in member["roles"]], department=member["department"],
                            township_code=member.get("township_code"))
        return stack.client("inspections", token)

    with stack.client("inspections", admin) as inspections:
        load_supervision_demo(inspections, as_staff, year=YEAR, today=TODAY,
                              township_codes=[code for code, _ in TOWNSHIPS])
        groups = expect(inspections.get("/groups"), 200)
        assert [g["name"] for g in groups] == ["第一督导组", "第二督导组", "第三督导组", "第四督导组", "第五督导组"]
        statuses = {i["status"] for i in expect(inspections.get("/inspections"), 200)}
        assert statuses == {"scheduled", "started", "completed"}
        ledger = expect(inspections.get("/rectifications"), 200)
    reporting = stack.client("reporting", admin)

    def arrived() -> bool:
        return reporting.get("/rectifications").json().get("count") == len(ledger)
    try:
        await wait_until(arrived, timeout=30, message="the demo ledger to reach reporting")
    except AssertionError:
        print(stack.logs())
        raise
    entries = expect(reporting.get("/rectifications"), 200)["entries"]
    kinds = {s["kind"] for e in entries for s in e["history"]}
    assert {"opened", "reported", "closed", "reopened"} <= kinds
    assert {"closed", "reported", "assigned"} <= {e["status"] for e in entries}
    assert any(e["overdue"] for e in entries), "the demo ledger should have overdue entries"
    assert not any(e["overdue"] for e in entries if e["status"] in ("closed", "reported"))
    scores = expect(reporting.get("/inspections/scores"), 200)
    assert len(scores["townships"]) >= len(TOWNSHIPS)
