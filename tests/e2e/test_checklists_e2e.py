"""Checklists instances (the federation's and a department's) → NATS → reporting, as real processes.

The federation's instance issues task lists and reviews highlights; the health department's own
instance learns health's tasks from the federation's events, reports on them, and publishes its
work under its own subject; reporting sees every department's tasks.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import httpx
import nats
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, seed_organisation
from services.stack.demo.worklists import load_worklists_demo
from shared.auth import Role
from shared.messaging.subjects import stream_name
from shared.testing.http import error_of
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

TODAY = date.today()


def _start(make: Callable[[NatsServerProcess], Stack], nats_server: NatsServerProcess, **federation_env: str) -> Stack:
    stack = make(nats_server)
    stack.add("registry")
    stack.add("checklists", env={"QD_DEPARTMENT": "federation", **federation_env})
    stack.add("checklists", instance="checklists-health", env={"QD_DEPARTMENT": "health"})
    stack.add("reporting")
    stack.start()
    return stack


async def _ready(stack: Stack) -> tuple[httpx.Client, httpx.Client]:
    """The organisation in the registry, and the federation's instance knowing its departments."""
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    federation, health = stack.client("checklists", admin), stack.client("checklists-health", _officer(stack))
    with stack.client("registry", admin) as registry:
        seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])

    def knows_departments() -> bool:
        codes = {d["code"] for d in expect(federation.get("/departments"), 200)}
        return {"health", "civil_affairs"} <= codes
    await _wait(stack, knows_departments, "the federation's instance to learn the registry's departments")
    return federation, health


def _officer(stack: Stack, department: str = "health") -> str:
    return stack.token(f"{department}-officer", Role.DEPARTMENT_OFFICER, department=department)


async def _wait(stack: Stack, predicate: Callable[[], bool], message: str) -> None:
    try:
        await wait_until(predicate, timeout=30, message=message)
    except AssertionError:
        print(stack.logs())
        raise


def _issue(federation: httpx.Client, month: str, department: str, title: str, deadline: date, **extra: Any) -> str:
    body = {"title": title, "description": f"{title}(演示)", "responsible_department": department,
            "metric": "完成人数", "unit": "人", "target_value": 10, "deadline": deadline.isoformat(), **extra}
    task_id: str = expect(federation.post(f"/task-lists/{month}/tasks", json=body), 201)["task_id"]
    return task_id


def _task(client: httpx.Client, task_id: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = expect(client.get(f"/tasks/{task_id}", params=params), 200)
    return result


def _reporting_tasks(reporting: httpx.Client, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = expect(reporting.get("/tasks", params=params), 200)
    return result


async def test_two_departments_each_see_and_report_only_their_own_work_and_reporting_sees_both(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server, QD_HOSTED_DEPARTMENTS="civil_affairs")
    federation, health = await _ready(stack)
    month = f"{TODAY:%Y-%m}"
    expect(federation.post("/task-lists", json={"month": month, "title": f"{month} 工作责任清单"}), 201)
    h1 = _issue(federation, month, "health", "重度残疾人家庭医生签约", TODAY + timedelta(days=10),
                complete_when_target_reached=True)
    h2 = _issue(federation, month, "health", "残疾评定", TODAY + timedelta(days=12), assignee="张医生")
    c1 = _issue(federation, month, "civil_affairs", "两项补贴发放核对", TODAY + timedelta(days=12))

    def health_knows_its_tasks() -> bool:
        return len(expect(health.get("/tasks"), 200)) == 2
    await _wait(stack, health_knows_its_tasks, "the health instance to learn its two tasks")
    assert {t["task_id"] for t in expect(health.get("/tasks"), 200)} == {h1, h2}
    assert health.get(f"/tasks/{c1}").status_code == 404
    assert health.post(f"/tasks/{c1}/progress", json={"value_reached": 1}).status_code == 404

    first = expect(health.post(f"/tasks/{h1}/progress", json={
        "value_reached": 4, "note": "已签约4人", "evidence": ["https://example.org/demo/sign-1.jpg"]}), 200)
    assert (first["status"], first["work_version"], first["progress"]) == ("open", 1, 0.4)
    done = expect(health.post(f"/tasks/{h1}/progress", json={"value_reached": 10, "expected_version": 1}), 200)
    assert (done["status"], done["completed_how"], done["on_time"]) == ("completed", "target_reached", True)
    twice = health.post(f"/tasks/{h1}/completion", json={})
    assert error_of(twice) == (409, "rule_violated", None), twice.text

    with stack.client("checklists-health", _officer(stack, "civil_affairs")) as civil_on_health:
        refused = civil_on_health.post(f"/tasks/{h2}/progress", json={"value_reached": 1})
        assert error_of(refused) == (403, "forbidden", None), refused.text
    with stack.client("checklists", _officer(stack, "health")) as health_on_federation:
        refused = health_on_federation.post(f"/tasks/{h2}/progress", json={"value_reached": 1})
        assert error_of(refused) == (403, "forbidden", None), refused.text
    with stack.client("checklists", _officer(stack, "civil_affairs")) as civil_on_federation:  # hosted there
        expect(civil_on_federation.post(f"/tasks/{c1}/completion", json={}), 200)

    new_deadline = TODAY + timedelta(days=20)
    expect(federation.post(f"/tasks/{h2}/deadline-extension", json={
        "new_deadline": new_deadline.isoformat(), "reason": "评定专家延期到岗", "expected_version": 1}), 200)
    await _wait(stack, lambda: _task(health, h2)["deadline"] == new_deadline.isoformat(),
                "the health instance to learn the extension")
    await _wait(stack, lambda: _task(federation, h1)["status"] == "completed",
                "the federation's instance to learn health's completion")
    detail = _task(federation, h1)
    assert [r["value_reached"] for r in detail["reports"]] == [4, 10]
    assert detail["reports"][0]["reported_by"] == "health-officer"

    issued = expect(federation.get(f"/streams/task-{h1}"), 200)
    assert issued["chain_intact"] and issued["events"][0]["department"] == "federation"
    with stack.client("checklists-health", stack.token("auditor", Role.AUDITOR)) as auditor:
        work = expect(auditor.get(f"/streams/taskwork-{h1}"), 200)
    assert [e["type"] for e in work["events"]] == ["task.progress_reported", "task.progress_reported",
                                                   "task.completed"]
    assert {(e["department"], e["source"]) for e in work["events"]} == {("health", "qingdan/checklists/health")}
    both = expect(health.get(f"/tasks/{h1}/history"), 200)["streams"]
    assert [(h["stream_id"], h["written_by"], h["copy"], h["chain_intact"]) for h in both] == [
        (f"task-{h1}", "federation", True, True), (f"taskwork-{h1}", "health", False, True)]
    assert "template.version_published" in str(expect(federation.get("/asyncapi.json"), 200))
    nc = await nats.connect(stack.nats.url)
    try:
        js = nc.jetstream()
        stream = stream_name(stack.namespace, "checklists")
        message = await js.get_last_msg(stream, f"{stack.namespace}.checklists.health.task.completed")
        assert b'"department":"health"' in message.data
        issue = await js.get_last_msg(stream, f"{stack.namespace}.checklists.federation.task.issued")
        assert b'"department":"federation"' in issue.data
    finally:
        await nc.close()

    highlight = expect(health.post("/highlights", json={
        "title": "五维一体康复服务模式", "description": "医院、社区、家庭、残联、志愿者五方联动(演示)",
        "tags": ["康复", "家庭医生"], "evidence": ["https://example.org/demo/highlight.pdf"]}), 201)
    hid = highlight["highlight_id"]
    assert health.post(f"/highlights/{hid}/approval", json={}).status_code == 403
    await _wait(stack, lambda: federation.get(f"/highlights/{hid}").status_code == 200,
                "the federation's instance to receive the highlight")
    expect(federation.post(f"/highlights/{hid}/approval", json={"expected_version": 0}), 200)
    await _wait(stack, lambda: expect(health.get(f"/highlights/{hid}"), 200)["status"] == "approved",
                "the health instance to learn the approval")
    expect(health.post("/publicity", json={"title": "区卫健局推广五维一体模式", "channel": "微信公众号",
                                           "published_on": TODAY.isoformat(), "highlight_id": hid}), 201)
    expect(federation.post(f"/highlights/{hid}/featuring", json={}), 200)

    with stack.client("reporting", stack.token("viewer", Role.VIEWER)) as reporting:
        def reporting_complete() -> bool:
            body = _reporting_tasks(reporting)
            statuses = {t["task_id"]: t["status"] for t in body["tasks"]}
            wall = expect(reporting.get("/highlights"), 200)
            return (statuses == {h1: "completed", h2: "open", c1: "completed"} and len(wall) == 1
                    and wall[0]["status"] == "featured" and len(wall[0]["publicity"]) == 1)
        await _wait(stack, reporting_complete, "reporting to see both departments' tasks and the featured highlight")
        assert _reporting_tasks(reporting, department="health")["count"] == 2
        assert [t["task_id"] for t in _reporting_tasks(reporting, status="open")["tasks"]] == [h2]
        assert [t["task_id"] for t in _reporting_tasks(reporting, assignee="张医生")["tasks"]] == [h2]
        assert _reporting_tasks(reporting, month=month)["count"] == 3
        board = {d["department"]: d for d in expect(reporting.get("/tasks/scoreboard"), 200)["departments"]}
        assert board["health"]["completed_on_time"] == 1 and board["health"]["open"] == 1
        assert board["civil_affairs"]["completion_rate"] == 1.0 and board["civil_affairs"]["rank"] == 1
    for read_model in ("tasks", "highlights"):
        check = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "services.reporting", "rebuild", read_model, "--check"],
            env={**stack.services["reporting"].env}, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0 and "matches" in check.stdout, check.stdout + check.stderr
    await _wait(stack, lambda: expect(health.get(f"/highlights/{hid}"), 200)["status"] == "featured",
                "the health instance to learn the featuring")
    before = ({t: _task(health, t) for t in (h1, h2)}, expect(health.get(f"/highlights/{hid}"), 200))
    # Each instance checks what it learned; health then replaces its copies of the federation's halves,
    # and its lookup rows (rewritten from the copies in the same transaction) serve the same answers.
    for key, projection, check_only in (("checklists", "departments", True), ("checklists", "replica", True),
                                        ("checklists-health", "replica", False),
                                        ("checklists-health", "replica", True)):
        command = [sys.executable, "-m", "services.checklists", "rebuild", projection, *(["--check"] * check_only)]
        done = await asyncio.to_thread(subprocess.run, command, env={**stack.services[key].env},
                                       capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert ("matches" if check_only else "replaced") in done.stdout, done.stdout
    assert ({t: _task(health, t) for t in (h1, h2)}, expect(health.get(f"/highlights/{hid}"), 200)) == before


async def test_overdue_and_due_soon_follow_the_clock_not_only_the_events(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server)
    federation, health = await _ready(stack)
    start = TODAY - timedelta(days=30)
    month = f"{start:%Y-%m}"
    expect(federation.post("/task-lists", json={"month": month, "title": "上月清单", "issued_on": start.isoformat()}),
           201)
    issued_on = {"issued_on": start.isoformat()}
    never_done = _issue(federation, month, "health", "康复机构年审", TODAY - timedelta(days=20), **issued_on)
    due_in_three = _issue(federation, month, "health", "辅具适配回访", TODAY + timedelta(days=3), **issued_on)
    late = _issue(federation, month, "health", "精神残疾人服药随访", TODAY - timedelta(days=15), **issued_on)
    on_time = _issue(federation, month, "health", "残疾预防宣传", TODAY - timedelta(days=10), **issued_on)
    await _wait(stack, lambda: len(expect(health.get("/tasks"), 200)) == 4, "health to learn its tasks")
    expect(health.post(f"/tasks/{late}/completion", json={"completed_on": (TODAY - timedelta(days=5)).isoformat()}),
           200)
    expect(health.post(f"/tasks/{on_time}/completion", json={"completed_on": (TODAY - timedelta(days=12)).isoformat()}),
           200)

    def flags(client: httpx.Client, task_id: str, day: date) -> tuple[bool, bool]:
        task = _task(client, task_id, today=day.isoformat())
        return task["overdue"], task["due_soon"]
    assert flags(health, never_done, TODAY - timedelta(days=25)) == (False, True)
    assert flags(health, never_done, TODAY - timedelta(days=19)) == (True, False)
    assert flags(health, due_in_three, TODAY) == (False, True)
    assert flags(health, due_in_three, TODAY + timedelta(days=4)) == (True, False)
    overdue_now = [t["task_id"] for t in expect(health.get("/tasks", params={"overdue": "true"}), 200)]
    assert overdue_now == [never_done]

    with stack.client("reporting", stack.token("viewer", Role.VIEWER)) as reporting:
        def settled() -> bool:
            return {t["status"] for t in _reporting_tasks(reporting, month=month)["tasks"]} == {"open", "completed"} \
                and _reporting_tasks(reporting, status="completed")["count"] == 2
        await _wait(stack, settled, "reporting to see the four tasks and both completions")
        assert [t["task_id"] for t in _reporting_tasks(reporting, overdue="true")["tasks"]] == [never_done]
        assert [t["task_id"] for t in _reporting_tasks(reporting, due_soon="true")["tasks"]] == [due_in_three]
        later = (TODAY + timedelta(days=4)).isoformat()
        assert [t["task_id"] for t in _reporting_tasks(reporting, overdue="true", today=later)["tasks"]] == [
            never_done, due_in_three]
        assert _reporting_tasks(reporting, overdue="true", today=(TODAY - timedelta(days=25)).isoformat())["count"] == 0

        (board,) = expect(reporting.get("/tasks/scoreboard", params={"month": month}), 200)["departments"]
        assert {k: board[k] for k in ("department", "tasks", "completed_on_time", "completed_late", "overdue",
                                      "due_soon", "completion_rate", "on_time_rate")} == {
            "department": "health", "tasks": 4, "completed_on_time": 1, "completed_late": 1, "overdue": 1,
            "due_soon": 1, "completion_rate": 0.5, "on_time_rate": 0.3333}
        (later_board,) = expect(reporting.get("/tasks/scoreboard", params={"today": later}), 200)["departments"]
        assert later_board["overdue"] == 2
        summary = expect(reporting.get("/tasks/summary", params={"month": month}), 200)
        assert summary["total"]["overdue"] == 1 and summary["by_month_and_department"][0]["month"] == month


async def test_concurrent_updates_to_one_task_one_wins_the_other_gets_409(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack = _start(stack_factory, nats_server)
    federation, health = await _ready(stack)
    month = f"{TODAY:%Y-%m}"
    expect(federation.post("/task-lists", json={"month": month, "title": "本月清单"}), 201)
    task_id = _issue(federation, month, "health", "家庭医生签约", TODAY + timedelta(days=9))
    await _wait(stack, lambda: health.get(f"/tasks/{task_id}").status_code == 200, "health to learn the task")

    def race(key: str, token: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
        def send(body: dict[str, Any]) -> httpx.Response:
            with stack.client(key, token) as client:
                return client.post(path, json=body)
        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(send, bodies))

    reports = race("checklists-health", _officer(stack), f"/tasks/{task_id}/progress",
                   [{"value_reached": 3, "expected_version": 0}, {"value_reached": 5, "expected_version": 0}])
    assert sorted(r.status_code for r in reports) == [200, 409], [r.text for r in reports]
    conflict = next(r for r in reports if r.status_code == 409).json()
    assert (conflict["error"], conflict.get("field")) == ("version_conflict", None)
    assert _task(health, task_id)["work_version"] == 1

    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    extensions = race("checklists", admin, f"/tasks/{task_id}/deadline-extension", [
        {"new_deadline": (TODAY + timedelta(days=d)).isoformat(), "reason": "延期", "expected_version": 1}
        for d in (15, 16)])
    assert sorted(r.status_code for r in extensions) == [200, 409], [r.text for r in extensions]
    assert _task(federation, task_id)["issue_version"] == 2


async def test_refusals_say_why_and_write_nothing(stack_factory: Any, nats_server: NatsServerProcess) -> None:
    stack = _start(stack_factory, nats_server)
    federation, health = await _ready(stack)
    month = f"{TODAY:%Y-%m}"

    anonymous = stack.client("checklists").post("/task-lists", json={"month": month, "title": "x"})
    assert error_of(anonymous) == (401, "unauthenticated", None)
    forged = stack.client("checklists", "not-a-token").get("/tasks")
    assert error_of(forged) == (401, "unauthenticated", None)
    with stack.client("checklists", stack.token("viewer", Role.VIEWER)) as viewer:
        refused = viewer.post("/task-lists", json={"month": month, "title": "x"})
        assert error_of(refused) == (403, "forbidden", None)
        assert viewer.get("/tasks").status_code == 200
    with stack.client("checklists-health", stack.token("admin", Role.FEDERATION_ADMIN)) as admin_on_health:
        refused = admin_on_health.post("/task-lists", json={"month": month, "title": "x"})
        assert error_of(refused) == (403, "forbidden", None), refused.text
        refused = admin_on_health.post("/templates/t1/versions", json={
            "title": "t", "items": [{"item_id": "a", "text": "b"}]})
        assert refused.status_code == 403

    bad_month = federation.post("/task-lists", json={"month": f"{TODAY.year}-13", "title": "x"})
    assert bad_month.status_code == 422 and bad_month.json()["errors"][0]["field"] == "month"
    expect(federation.post("/task-lists", json={"month": month, "title": "本月清单"}), 201)
    again = federation.post("/task-lists", json={"month": month, "title": "本月清单"})
    assert error_of(again) == (409, "rule_violated", None)
    base = {"title": "t", "description": "d", "responsible_department": "health", "metric": "m", "unit": "人",
            "target_value": 5, "deadline": TODAY.isoformat()}
    for change, field in [
        ({"deadline": (TODAY - timedelta(days=1)).isoformat()}, "deadline"),
        ({"responsible_department": "nowhere"}, "responsible_department"),
        ({"issued_on": (TODAY + timedelta(days=1)).isoformat(), "deadline": (TODAY + timedelta(days=2)).isoformat()},
         "issued_on"),
    ]:
        response = federation.post(f"/task-lists/{month}/tasks", json={**base, **change})
        assert error_of(response) == (422, "invalid", field), response.text
    zero = federation.post(f"/task-lists/{month}/tasks", json={**base, "target_value": 0})
    assert zero.status_code == 422 and zero.json()["errors"][0]["field"] == "target_value"
    with stack.client("checklists", _officer(stack)) as officer:
        assert officer.post(f"/task-lists/{month}/tasks", json=base).status_code == 403
    assert expect(federation.get("/tasks"), 200) == []

    task_id = _issue(federation, month, "health", "残疾评定", TODAY + timedelta(days=5))
    no_reason = federation.post(f"/tasks/{task_id}/deadline-extension",
                                json={"new_deadline": (TODAY + timedelta(days=9)).isoformat(), "reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    earlier = federation.post(f"/tasks/{task_id}/deadline-extension",
                              json={"new_deadline": TODAY.isoformat(), "reason": "提前"})
    assert earlier.status_code == 422 and earlier.json()["field"] == "new_deadline"
    await _wait(stack, lambda: health.get(f"/tasks/{task_id}").status_code == 200, "health to learn the task")
    spaced = health.post(f"/tasks/{task_id}/progress", json={"value_reached": 1, "evidence": ["a b"]})
    assert spaced.status_code == 422 and spaced.json()["field"] == "evidence"
    expect(federation.post(f"/tasks/{task_id}/cancellation", json={"reason": "任务合并"}), 200)
    await _wait(stack, lambda: _task(health, task_id)["status"] == "cancelled", "health to learn the cancellation")
    cancelled = health.post(f"/tasks/{task_id}/progress", json={"value_reached": 1})
    assert error_of(cancelled) == (409, "rule_violated", None)
    assert _task(health, task_id)["work_version"] == 0


async def test_templates_are_versioned_and_never_rewritten(stack_factory: Any, nats_server: NatsServerProcess) -> None:
    stack = _start(stack_factory, nats_server)
    federation, _health = await _ready(stack)
    items = [{"item_id": f"i{n}", "text": f"检查项{n}", "guidance": "查档案", "weight": 1.0} for n in range(1, 4)]
    draft = expect(federation.put("/templates/supervision/draft", json={"title": "督导检查清单", "items": items[:1]}),
                   200)
    assert draft["status"] == "draft" and draft["draft"]["version"] == 1
    expect(federation.put("/templates/supervision/draft", json={"title": "督导检查清单", "items": items[:2],
                                                                  "expected_version": 1}), 200)
    first = expect(federation.post("/templates/supervision/draft/publication", json={}), 201)
    assert first["current_version"] == 1 and len(first["versions"][0]["items"]) == 2
    same = federation.post("/templates/supervision/versions", json={"title": "督导检查清单", "items": items[:2]})
    assert error_of(same) == (409, "rule_violated", None)
    second = expect(federation.post("/templates/supervision/versions", json={
        "title": "督导检查清单", "items": [*items, {"item_id": "i4", "text": "重度残疾人入户核查",
                                               "evidence_required": True, "weight": 2}]}), 201)
    assert [len(v["items"]) for v in second["versions"]] == [2, 4]
    duplicate = federation.post("/templates/supervision/versions", json={
        "title": "x", "items": [items[0], items[0]]})
    assert duplicate.status_code == 422 and duplicate.json()["field"] == "items[1].item_id"
    history = expect(federation.get("/streams/template-supervision"), 200)
    published = [e for e in history["events"] if e["type"] == "template.version_published"]
    assert [e["data"]["supersedes"] for e in published] == [None, 1]
    assert published[1]["data"]["items"][3]["evidence_required"] is True
    listed = expect(federation.get("/templates"), 200)
    assert listed[0]["current_version"] == 2 and listed[0]["items"] == 4


async def test_demo_year_loads_through_both_instances(stack_factory: Any, nats_server: NatsServerProcess) -> None:
    stack = _start(stack_factory, nats_server, QD_HOSTED_DEPARTMENTS="civil_affairs")
    federation, health = await _ready(stack)
    year = TODAY.year - 1
    civil_affairs = stack.client("checklists", _officer(stack, "civil_affairs"))  # hosted by the federation's
    load_worklists_demo(federation, {"health": health, "civil_affairs": civil_affairs}, year=year, today=TODAY)
    load_worklists_demo(federation, {"health": health}, year=TODAY.year, today=TODAY)  # this year, under way

    with stack.client("reporting", stack.token("viewer", Role.VIEWER)) as reporting:
        def loaded() -> bool:
            wall = expect(reporting.get("/highlights"), 200)
            return len(wall) == 2 and wall[0]["status"] == "featured" and len(wall[0]["publicity"]) == 2
        await _wait(stack, loaded, "reporting to show the demo highlights")
        expected = sum(t["month"].startswith(str(year))
                       for t in expect(federation.get("/tasks", params={"limit": 2000}), 200))

        def all_tasks() -> bool:
            return bool(_reporting_tasks(reporting, year=year)["count"] == expected)
        await _wait(stack, all_tasks, "reporting to show every demo task")
        board = {d["department"]: d for d in expect(reporting.get("/tasks/scoreboard", params={"year": year}),
                                                    200)["departments"]}
    assert set(board) == {"federation", "civil_affairs", "health"}
    assert all(d["tasks"] >= 12 for d in board.values())
    assert sum(d["completed_late"] for d in board.values()) > 0 and sum(d["overdue"] for d in board.values()) > 0
    assert sum(d["completed_on_time"] for d in board.values()) > sum(d["completed_late"] for d in board.values())
    tasks = expect(federation.get("/tasks", params={"limit": 2000}), 200)
    under_way = [t for t in tasks if t["status"] == "open" and t["deadline"] >= TODAY.isoformat()]
    assert not under_way or sum(t["extensions"] for t in tasks) == 1
    template = expect(federation.get("/templates/pengshan-supervision"), 200)
    assert template["current_version"] == 1 and len(template["versions"][0]["items"]) == 8
