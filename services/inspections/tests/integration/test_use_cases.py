"""The inspections service's use cases through the real executor on a real database (no HTTP, no
NATS; the facts it learns from other services' events are seeded as rows): who may do what (403),
what does not exist (404), stale versions (409), bad input (422, by error code and field), and the
lookup rows (groups, inspections, the rectification ledger) the inline projection writes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest

from services.inspections.adapters.tables import (
    groups,
    inspections,
    known_departments,
    known_org_units,
    known_staff,
    known_templates,
    ledger_counters,
    metadata,
    rectifications,
)
from services.inspections.application import commands as c
from services.inspections.application import groups as group_uc
from services.inspections.application import inspections as inspection_uc
from services.inspections.application import rectifications as rect_uc
from services.inspections.application.deps import InspectionsDeps
from shared.auth import Role
from shared.errors import ConcurrencyConflict, Forbidden, InvalidInput, NotFound, QingdanError
from shared.testing.usecases import UseCaseBench, principal

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 15)
TOWNSHIP = "511403100000"
ADMIN = principal("admin")
LEADER = principal("inspector-1", Role.INSPECTOR)
STRANGER = principal("inspector-9", Role.INSPECTOR)
HEALTH = principal("health-officer", Role.DEPARTMENT_OFFICER, department="health")


@pytest.fixture
async def bench(database_url: str) -> AsyncIterator[UseCaseBench]:
    async with UseCaseBench.open(database_url, [metadata], service="inspections") as bench:
        await bench.insert(known_staff, [
            {"staff_id": s, "display_name": s, "department": "federation", "roles": '["inspector"]',
             "township_code": None} for s in ("inspector-1", "inspector-2", "inspector-9")])
        await bench.insert(known_org_units, [{"code": TOWNSHIP, "name": "凤鸣街道", "level": "township",
                                              "parent_code": "511403000000"}])
        await bench.insert(known_departments, [{"code": "health", "name": "卫健局", "org_unit_code": None}])
        items = [{"item_id": "a", "text": "档案齐全", "guidance": "", "weight": 3.0, "evidence_required": False},
                 {"item_id": "b", "text": "入户调研", "guidance": "", "weight": 2.0, "evidence_required": False}]
        await bench.insert(known_templates, [{"template_id": "township-check", "version": 1, "title": "乡镇督导",
                                              "items": json.dumps(items), "published_on": TODAY,
                                              "supersedes": None}])
        yield bench


@pytest.fixture
def deps(bench: UseCaseBench) -> InspectionsDeps:
    return InspectionsDeps(store=bench.store, today=lambda: TODAY)


@dataclass
class Visit:
    group_id: str
    inspection_id: str
    version: int


async def form(bench: UseCaseBench, deps: InspectionsDeps) -> str:
    cmd = c.FormGroup(name="第一督导组", leader="inspector-1", members=["inspector-2"], township_codes=[TOWNSHIP])
    return str((await bench.run(lambda uow: group_uc.form_group(uow, deps, ADMIN, cmd)))["group_id"])


async def started(bench: UseCaseBench, deps: InspectionsDeps) -> Visit:
    group_id = await form(bench, deps)
    scheduled = await bench.run(lambda uow: inspection_uc.schedule(uow, deps, LEADER, c.ScheduleInspection(
        group_id=group_id, target_kind="township", target_code=TOWNSHIP, template_id="township-check",
        template_version=1, scheduled_on=TODAY)))
    inspection_id = str(scheduled["inspection_id"])
    result = await bench.run(lambda uow: inspection_uc.start(uow, deps, LEADER, inspection_id,
                                                             c.StartInspection(expected_version=1)))
    return Visit(group_id, inspection_id, int(str(result["version"])))


def assert_error(error: QingdanError, kind: type[QingdanError], field: str | None = None) -> None:
    assert isinstance(error, kind), repr(error)
    assert (error.code, error.field) == (kind.code, field)


async def test_forming_and_changing_a_group_keeps_its_row(bench: UseCaseBench, deps: InspectionsDeps) -> None:
    group_id = await form(bench, deps)
    [row] = await bench.rows(groups, group_id=group_id)
    assert (row["version"], row["leader"], json.loads(row["members"])) == (1, "inspector-1",
                                                                          ["inspector-1", "inspector-2"])
    result = await bench.run(lambda uow: group_uc.change_membership(uow, deps, ADMIN, group_id, c.ChangeMembership(
        leader="inspector-2", members=[], expected_version=1)))
    assert result == {"group_id": group_id, "version": 2}
    [row] = await bench.rows(groups, group_id=group_id)
    assert (row["version"], row["leader"], json.loads(row["members"])) == (2, "inspector-2", ["inspector-2"])


async def test_an_inspection_and_its_ledger_entry_keep_their_rows(
    bench: UseCaseBench, deps: InspectionsDeps
) -> None:
    visit = await started(bench, deps)
    [row] = await bench.rows(inspections, inspection_id=visit.inspection_id)
    assert (row["status"], row["started_on"], row["version"], row["target_name"]) == (
        "started", TODAY, visit.version, "凤鸣街道")
    await bench.run(lambda uow: inspection_uc.record_item(uow, deps, LEADER, visit.inspection_id, "a",
                                                          c.RecordItem(result="fail", note="缺3份")))
    raised = await bench.run(lambda uow: inspection_uc.raise_finding(
        uow, deps, LEADER, visit.inspection_id, c.RaiseFinding(item_id="a", description="档案缺失")))
    finding_id = str(raised["finding_id"])
    [row] = await bench.rows(inspections, inspection_id=visit.inspection_id)
    assert (row["findings"], row["version"]) == (1, raised["version"])
    assigned = await bench.run(lambda uow: rect_uc.assign(uow, deps, LEADER, visit.inspection_id, finding_id,
                                                          c.AssignRectification(responsible_unit="health",
                                                                                measures="补齐档案",
                                                                                deadline=date(2026, 4, 30))))
    assert (assigned["number"], assigned["status"], assigned["deadline"]) == ("ZG-2026-0001", "assigned",
                                                                              "2026-04-30")
    [entry] = await bench.rows(rectifications)
    assert (entry["rectification_id"], entry["number"], entry["responsible_unit"], entry["version"]) == (
        f"rect-{finding_id}", "ZG-2026-0001", "health", 1)
    assert await bench.rows(ledger_counters) == [{"year": 2026, "last": 1}]
    reported = await bench.run(lambda uow: rect_uc.report(uow, deps, HEALTH, f"rect-{finding_id}",
                                                          c.ReportRectification(measures_taken="已补齐", evidence=["https://x/1.jpg"],
                                                                                expected_version=1)))
    [entry] = await bench.rows(rectifications)
    assert (entry["status"], entry["reported_on"], entry["version"]) == (reported["status"], TODAY, 2)


async def test_authorisation(bench: UseCaseBench, deps: InspectionsDeps) -> None:
    with pytest.raises(Forbidden) as not_admin:
        await bench.run(lambda uow: group_uc.form_group(uow, deps, LEADER,
                                                        c.FormGroup(name="x", leader="inspector-1")))
    assert_error(not_admin.value, Forbidden)
    visit = await started(bench, deps)
    with pytest.raises(Forbidden):  # only the group's members run its inspections
        await bench.run(lambda uow: inspection_uc.cancel(uow, deps, STRANGER, visit.inspection_id,
                                                         c.CancelInspection(reason="x")))
    [row] = await bench.rows(inspections, inspection_id=visit.inspection_id)
    assert row["status"] == "started"
    assert len(await bench.rows(groups)) == 1


async def test_not_found(bench: UseCaseBench, deps: InspectionsDeps) -> None:
    for use_case in (
        lambda uow: group_uc.change_coverage(uow, deps, ADMIN, "no-group", c.ChangeCoverage()),
        lambda uow: inspection_uc.start(uow, deps, LEADER, "no-inspection", c.StartInspection()),
        lambda uow: rect_uc.report(uow, deps, HEALTH, "rect-nothing", c.ReportRectification()),
        lambda uow: rect_uc.report(uow, deps, HEALTH, "group-not-a-ledger-entry", c.ReportRectification()),
    ):
        with pytest.raises(NotFound) as missing:
            await bench.run(use_case)
        assert_error(missing.value, NotFound)


async def test_stale_expected_version_is_a_conflict_and_writes_nothing(
    bench: UseCaseBench, deps: InspectionsDeps
) -> None:
    visit = await started(bench, deps)
    with pytest.raises(ConcurrencyConflict) as stale:
        await bench.run(lambda uow: inspection_uc.cancel(uow, deps, LEADER, visit.inspection_id,
                                                         c.CancelInspection(reason="雨", expected_version=1)))
    assert_error(stale.value, ConcurrencyConflict)
    [row] = await bench.rows(inspections, inspection_id=visit.inspection_id)
    assert (row["status"], row["version"]) == ("started", visit.version)


async def test_invalid_input_names_the_field_and_writes_nothing(bench: UseCaseBench, deps: InspectionsDeps) -> None:
    with pytest.raises(InvalidInput) as unknown_staff:
        await bench.run(lambda uow: group_uc.form_group(uow, deps, ADMIN, c.FormGroup(name="x", leader="nobody")))
    assert_error(unknown_staff.value, InvalidInput, "members")  # the leader is one of the members
    group_id = await form(bench, deps)
    with pytest.raises(InvalidInput) as unknown_template:
        await bench.run(lambda uow: inspection_uc.schedule(uow, deps, LEADER, c.ScheduleInspection(
            group_id=group_id, target_kind="township", target_code=TOWNSHIP, template_id="township-check",
            template_version=9, scheduled_on=TODAY)))
    assert_error(unknown_template.value, InvalidInput, "template_version")
    assert await bench.rows(inspections) == []
    visit = await started(bench, deps)
    await bench.run(lambda uow: inspection_uc.record_item(uow, deps, LEADER, visit.inspection_id, "a",
                                                          c.RecordItem(result="fail", note="缺")))
    raised = await bench.run(lambda uow: inspection_uc.raise_finding(
        uow, deps, LEADER, visit.inspection_id, c.RaiseFinding(item_id="a", description="档案缺失")))
    with pytest.raises(InvalidInput) as unit:
        await bench.run(lambda uow: rect_uc.assign(uow, deps, LEADER, visit.inspection_id, str(raised["finding_id"]),
                                                   c.AssignRectification(responsible_unit="nowhere", measures="m",
                                                                         deadline=date(2026, 4, 30))))
    assert_error(unit.value, InvalidInput, "responsible_unit")
    assert await bench.rows(rectifications) == []
    assert await bench.rows(ledger_counters) == []  # the number taken is rolled back with the command
