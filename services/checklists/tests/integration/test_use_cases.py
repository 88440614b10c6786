"""The checklists use cases through the real executor on a real database (no HTTP, no NATS; the
registry's departments are seeded as rows): who may do what (403), what does not exist (404),
stale versions (409), bad input (422, by error code and field), and the lookup rows the inline
projection writes — one row per half of a task or highlight, each from its own stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from services.checklists.adapters.tables import (
    departments,
    highlight_reviews,
    highlights,
    metadata,
    publicity,
    replica_events,
    task_lists,
    task_work,
    tasks,
    templates,
)
from services.checklists.application import commands as c
from services.checklists.application import highlights as highlight_uc
from services.checklists.application import tasks as task_uc
from services.checklists.application import templates as template_uc
from services.checklists.application import views
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.streams import refresh
from shared.auth import Role
from shared.catalogue import worklists as ev
from shared.errors import ConcurrencyConflict, Forbidden, InvalidInput, NotFound, QingdanError
from shared.eventstore import EventStore
from shared.eventstore.unit_of_work import UnitOfWork
from shared.testing.usecases import UseCaseBench, envelope, principal

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 15)
MONTH = "2026-03"
ADMIN = principal("admin")
HEALTH = principal("health-officer", Role.DEPARTMENT_OFFICER, department="health")
CIVIL = principal("civil-officer", Role.DEPARTMENT_OFFICER, department="civil_affairs")


@pytest.fixture
async def bench(database_url: str) -> AsyncIterator[UseCaseBench]:
    async with UseCaseBench.open(database_url, [metadata], service="checklists") as bench:
        await bench.insert(departments, [{"code": "health", "name": "卫健局"},
                                         {"code": "civil_affairs", "name": "民政局"}])
        yield bench


@pytest.fixture
def deps(bench: UseCaseBench) -> ChecklistsDeps:
    """The federation's (issuer's) instance, also hosting the health department's work."""
    return ChecklistsDeps(store=bench.store, issuer_department="federation",
                          served=frozenset({"federation", "health"}), today=lambda: TODAY)


def assert_error(error: QingdanError, kind: type[QingdanError], field: str | None = None) -> None:
    assert isinstance(error, kind), repr(error)
    assert (error.code, error.field) == (kind.code, field)


async def issue_task(bench: UseCaseBench, deps: ChecklistsDeps, department: str = "health") -> str:
    await bench.run(lambda uow: task_uc.issue_list(uow, deps, ADMIN, c.IssueTaskList(month=MONTH, title="三月清单")))
    task = await bench.run(lambda uow: task_uc.issue_task(uow, deps, ADMIN, MONTH, c.IssueTask(
        title="签约服务", description="家庭医生签约", responsible_department=department, metric="签约人数",
        unit="人", target_value=10, deadline=date(2026, 3, 31))))
    return str(task["task_id"])


async def test_a_task_keeps_one_row_per_half(bench: UseCaseBench, deps: ChecklistsDeps) -> None:
    task_id = await issue_task(bench, deps)
    [tasklist] = await bench.rows(task_lists)
    assert (tasklist["list_id"], tasklist["version"]) == ("tasklist-federation-2026-03", 1)
    [issued] = await bench.rows(tasks, task_id=task_id)
    assert (issued["responsible_department"], issued["issue_version"], issued["extensions"]) == ("health", 1, 0)
    assert await bench.rows(task_work) == []
    body = await bench.run(lambda uow: task_uc.report_progress(uow, deps, HEALTH, task_id, c.ReportProgress(
        value_reached=4, expected_version=0)))
    assert (body["value_reached"], body["work_version"], body["issue_version"]) == (4, 1, 1)
    [work] = await bench.rows(task_work, task_id=task_id)
    assert (work["value_reached"], work["last_reported_on"], work["work_version"]) == (4, TODAY, 1)
    body = await bench.run(lambda uow: task_uc.extend_deadline(uow, deps, ADMIN, task_id, c.ExtendDeadline(
        new_deadline=date(2026, 4, 15), reason="节假日", expected_version=1)))
    assert (body["deadline"], body["extensions"], body["issue_version"]) == (date(2026, 4, 15), 1, 2)
    [issued] = await bench.rows(tasks, task_id=task_id)
    assert (issued["deadline"], issued["issue_version"]) == (date(2026, 4, 15), 2)


async def test_authorisation(bench: UseCaseBench, deps: ChecklistsDeps) -> None:
    with pytest.raises(Forbidden) as not_issuer:
        await bench.run(lambda uow: task_uc.issue_list(uow, deps, HEALTH, c.IssueTaskList(month=MONTH, title="x")))
    assert_error(not_issuer.value, Forbidden)
    task_id = await issue_task(bench, deps)
    with pytest.raises(Forbidden):  # another department's officer
        await bench.run(lambda uow: task_uc.report_progress(uow, deps, CIVIL, task_id,
                                                            c.ReportProgress(value_reached=1)))
    department_instance = ChecklistsDeps(store=EventStore("checklists", "civil_affairs"),
                                         issuer_department="federation", served=frozenset({"civil_affairs"}),
                                         today=lambda: TODAY)
    with pytest.raises(Forbidden):  # an instance that does not issue
        await bench.run(lambda uow: task_uc.cancel_task(uow, department_instance, ADMIN, task_id,
                                                        c.CancelTask(reason="x")))
    assert await bench.rows(task_work) == []
    [issued] = await bench.rows(tasks, task_id=task_id)
    assert issued["cancelled_on"] is None


async def test_not_found(bench: UseCaseBench, deps: ChecklistsDeps) -> None:
    for use_case in (
        lambda uow: task_uc.issue_task(uow, deps, ADMIN, "2026-07", c.IssueTask(
            title="t", description="d", responsible_department="health", metric="m", unit="人", target_value=1,
            deadline=date(2026, 7, 31))),
        lambda uow: task_uc.complete_task(uow, deps, HEALTH, "no-task", c.CompleteTask()),
        lambda uow: highlight_uc.approve(uow, deps, ADMIN, "no-highlight", c.ReviewHighlight()),
        lambda uow: highlight_uc.withdraw_publicity_item(uow, deps, HEALTH, "no-item",
                                                         c.WithdrawPublicity(reason="x")),
    ):
        with pytest.raises(NotFound) as missing:
            await bench.run(use_case)
        assert_error(missing.value, NotFound)


async def test_stale_expected_version_is_a_conflict_before_any_rule(
    bench: UseCaseBench, deps: ChecklistsDeps
) -> None:
    task_id = await issue_task(bench, deps)
    with pytest.raises(ConcurrencyConflict) as stale:  # the value is also invalid: the version is heard first
        await bench.run(lambda uow: task_uc.extend_deadline(uow, deps, ADMIN, task_id, c.ExtendDeadline(
            new_deadline=date(2020, 1, 1), reason="x", expected_version=5)))
    assert_error(stale.value, ConcurrencyConflict)
    saved = await bench.run(lambda uow: template_uc.save_draft(uow, deps, ADMIN, "township", c.SaveTemplateDraft(
        title="乡镇督导", items=[ev.TemplateItem(item_id="a", text="档案")], expected_version=0)))
    assert saved["version"] == 1
    with pytest.raises(ConcurrencyConflict):
        await bench.run(lambda uow: template_uc.publish_draft(uow, deps, ADMIN, "township",
                                                              c.PublishDraft(expected_version=0)))
    [row] = await bench.rows(templates)
    assert (row["draft_version"], row["current_version"], row["version"]) == (1, None, 1)


async def test_invalid_input_names_the_field_and_writes_nothing(bench: UseCaseBench, deps: ChecklistsDeps) -> None:
    await bench.run(lambda uow: task_uc.issue_list(uow, deps, ADMIN, c.IssueTaskList(month=MONTH, title="x")))
    with pytest.raises(InvalidInput) as unknown:
        await bench.run(lambda uow: task_uc.issue_task(uow, deps, ADMIN, MONTH, c.IssueTask(
            title="t", description="d", responsible_department="nowhere", metric="m", unit="人", target_value=1,
            deadline=date(2026, 3, 31))))
    assert_error(unknown.value, InvalidInput, "responsible_department")
    with pytest.raises(InvalidInput) as early:
        await bench.run(lambda uow: task_uc.issue_task(uow, deps, ADMIN, MONTH, c.IssueTask(
            title="t", description="d", responsible_department="health", metric="m", unit="人", target_value=1,
            deadline=date(2026, 3, 14))))
    assert_error(early.value, InvalidInput, "deadline")
    assert await bench.rows(tasks) == []
    with pytest.raises(InvalidInput) as twice:
        await bench.run(lambda uow: template_uc.publish_version(uow, deps, ADMIN, "t", c.PublishTemplateVersion(
            title="t", items=[ev.TemplateItem(item_id="a", text="x"), ev.TemplateItem(item_id="a", text="y")])))
    assert_error(twice.value, InvalidInput, "items[1].item_id")
    assert await bench.rows(templates) == []


async def test_highlights_and_publicity_keep_their_rows(bench: UseCaseBench, deps: ChecklistsDeps) -> None:
    submitted = await bench.run(lambda uow: highlight_uc.submit(uow, deps, HEALTH, c.SubmitHighlight(
        title="上门康复", description="送康复上门", tags=["康复"], evidence=["https://x/1.jpg"])))
    highlight_id = str(submitted["highlight_id"])
    [row] = await bench.rows(highlights, highlight_id=highlight_id)
    assert (row["department"], row["submission_version"]) == ("health", 1)
    assert await bench.rows(highlight_reviews) == []
    approved = await bench.run(lambda uow: highlight_uc.approve(uow, deps, ADMIN, highlight_id,
                                                                c.ReviewHighlight(expected_version=0)))
    assert (approved["status"], approved["review_version"]) == ("approved", 1)
    [review] = await bench.rows(highlight_reviews, highlight_id=highlight_id)
    assert (review["status"], review["approved_on"], review["review_version"]) == ("approved", TODAY, 1)
    with pytest.raises(InvalidInput) as foreign:
        await bench.run(lambda uow: highlight_uc.list_publicity_item(uow, deps, ADMIN, c.ListPublicity(
            title="报道", channel="电视台", published_on=TODAY, highlight_id=highlight_id)))
    assert_error(foreign.value, InvalidInput, "highlight_id")
    listed = await bench.run(lambda uow: highlight_uc.list_publicity_item(uow, deps, HEALTH, c.ListPublicity(
        title="报道", channel="电视台", published_on=TODAY, highlight_id=highlight_id)))
    item_id = str(listed["item_id"])
    await bench.run(lambda uow: highlight_uc.withdraw_publicity_item(uow, deps, HEALTH, item_id,
                                                                     c.WithdrawPublicity(reason="重复",
                                                                                         expected_version=1)))
    [item] = await bench.rows(publicity)
    assert (item["withdrawn"], item["withdraw_reason"], item["version"]) == (True, "重复", 2)


async def test_a_department_instance_works_on_a_replica_and_never_writes_it(bench: UseCaseBench) -> None:
    """The issuer's half arrives as a copy (the replica consumer's rows); the department writes its own."""
    health = ChecklistsDeps(store=EventStore("checklists", "health"), issuer_department="federation",
                            served=frozenset({"health"}), today=lambda: TODAY)
    issued = ev.TaskIssued(task_id="t1", list_id="tasklist-federation-2026-03", month=MONTH,
                           issuer_department="federation", title="签约服务", description="家庭医生签约",
                           responsible_department="health", metric="签约人数", unit="人", target_value=10,
                           complete_when_target_reached=False, issued_on=TODAY, deadline=date(2026, 3, 31))
    copy = envelope(issued, stream_id="task-t1", department="federation")
    await bench.insert(replica_events, [{"stream_id": copy.stream_id, "version": 1, "event_id": copy.id,
                                         "event_type": copy.type, "department": copy.department,
                                         "envelope": copy.to_json().decode()}])
    await bench.write(lambda conn: refresh(conn, health, "task-t1"))
    [row] = await bench.rows(tasks, task_id="t1")
    assert (row["responsible_department"], row["issue_version"]) == ("health", 1)
    body = await bench.run(lambda uow: task_uc.report_progress(uow, health, HEALTH, "t1", c.ReportProgress(
        value_reached=10, complete=True, expected_version=0)))
    assert (body["status"], body["work_version"], body["issue_version"]) == ("completed", 2, 1)

    async def write_the_copy(uow: UnitOfWork) -> int:
        halves = await health.repository.task(uow, "t1")
        return await health.repository.save_stream(uow, halves.issue, [issued], health.context(ADMIN),
                                                    expected_version=1)

    with pytest.raises(Forbidden) as replica:
        await bench.run(write_the_copy)
    assert_error(replica.value, Forbidden)
    assert (await bench.stream("task-t1")).version == 0  # never in this instance's own log


async def test_buffered_commands_answer_what_the_read_side_then_shows(
    bench: UseCaseBench, deps: ChecklistsDeps
) -> None:
    """A command's response is computed from the streams it saved, not read back, so it runs buffered
    (as the routes run it) and still answers exactly what the read side shows once the batch commits."""
    def run(use_case: Any) -> Any:
        return bench.run(use_case, buffered=True)
    await run(lambda uow: task_uc.issue_list(uow, deps, ADMIN, c.IssueTaskList(month=MONTH, title="三月清单")))
    issued = await run(lambda uow: task_uc.issue_task(uow, deps, ADMIN, MONTH, c.IssueTask(
        title="签约服务", description="家庭医生签约", responsible_department="health", metric="签约人数",
        unit="人", target_value=10, deadline=date(2026, 3, 20))))
    task_id = str(issued["task_id"])
    assert issued["due_soon"] and issued == await bench.read(lambda conn: views.task_json(conn, task_id, TODAY))
    second = await run(lambda uow: task_uc.issue_task(uow, deps, ADMIN, MONTH, c.IssueTask(
        title="康复服务", description="上门康复", responsible_department="health", metric="人次",
        unit="人", target_value=5, deadline=date(2026, 3, 31))))
    second_id = str(second["task_id"])
    done = await run(lambda uow: task_uc.report_progress(uow, deps, HEALTH, task_id, c.ReportProgress(
        value_reached=10, complete=True, expected_version=0)))
    assert done["status"] == "completed"
    assert done == await bench.read(lambda conn: views.task_json(conn, task_id, TODAY))
    extended = await run(lambda uow: task_uc.extend_deadline(uow, deps, ADMIN, second_id, c.ExtendDeadline(
        new_deadline=date(2026, 4, 15), reason="节假日")))
    assert extended == await bench.read(lambda conn: views.task_json(conn, second_id, TODAY))
    cancelled = await run(lambda uow: task_uc.cancel_task(uow, deps, ADMIN, second_id, c.CancelTask(reason="合并")))
    assert (cancelled["status"], cancelled["extensions"]) == ("cancelled", 1)
    assert cancelled == await bench.read(lambda conn: views.task_json(conn, second_id, TODAY))

    submitted = await run(lambda uow: highlight_uc.submit(uow, deps, HEALTH, c.SubmitHighlight(
        title="上门康复", description="送康复上门", tags=["康复"], evidence=["https://x/1.jpg"])))
    highlight_id = str(submitted["highlight_id"])
    assert submitted == await bench.read(lambda conn: views.highlight_json(conn, highlight_id))
    rejected = await run(lambda uow: highlight_uc.reject(uow, deps, ADMIN, highlight_id,
                                                         c.RejectHighlight(reason="材料不全")))
    assert rejected == await bench.read(lambda conn: views.highlight_json(conn, highlight_id))
    listed = await run(lambda uow: highlight_uc.list_publicity_item(uow, deps, HEALTH, c.ListPublicity(
        title="报道", channel="电视台", published_on=TODAY)))
    item_id = str(listed["item_id"])
    assert listed == await bench.read(lambda conn: views.publicity_json(conn, item_id))
