"""A year of Pengshan's work lists, loaded over HTTP into running checklists instances.

Monthly responsibility checklists (工作责任清单) for the demo departments of ``pengshan.DEPARTMENTS``:
most tasks done on time, some late, some still open past their deadline (overdue), the current
month's under way; one inspection checklist template (检查指导清单) with eight items; a few
highlights (特色亮点清单), approved or featured, with publicity items (宣传清单). All titles are
plausible and every link points at example.org: the data is invented for the demo.

:func:`plan_year` decides everything (pure, seeded); :func:`load_worklists_demo` plays it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import httpx

from services.stack.demo.pengshan import TOWNSHIPS
from shared.http.client import expect

Outcome = Literal["on_time", "late", "overdue", "in_progress", "not_started"]

TASK_IDEAS: dict[str, list[tuple[str, str, str, int]]] = {
    "federation": [("残疾人基本服务状况和需求动态更新入户调研", "调研人数", "人", 300),
                   ("辅助器具适配服务", "适配件数", "件", 40), ("残疾人证办理及换证", "办证人数", "人", 50)],
    "civil_affairs": [("残疾人两项补贴按月发放", "发放人数", "人", 1200),
                      ("困难残疾人低保动态核查", "核查户数", "户", 150)],
    "hrss": [("残疾人职业技能培训", "培训人次", "人次", 30), ("残疾人就业岗位推荐", "推荐人数", "人", 15)],
    "health": [("重度残疾人家庭医生签约服务", "签约人数", "人", 200), ("残疾评定集中办理", "评定人次", "人次", 60),
               ("严重精神障碍患者随访", "随访人次", "人次", 80)],
    "education": [("适龄残疾儿童少年送教上门", "送教人次", "人次", 25), ("随班就读残疾学生核查", "核查人数", "人", 40)],
    "housing": [("困难重度残疾人家庭无障碍改造", "改造户数", "户", 8), ("无障碍设施建设巡查", "巡查点位", "处", 12)],
}
ASSIGNEES = ["康复科(演示)", "社会事务科(演示)", "就业服务中心(演示)", "基层卫生科(演示)", "特教中心(演示)", None]

TEMPLATE_ITEMS: list[dict[str, Any]] = [
    {"item_id": "archive", "text": "残疾人基础档案一人一档、信息准确", "weight": 15, "evidence_required": True,
     "guidance": "抽查10份档案,核对证号、类别、等级与系统一致"},
    {"item_id": "survey", "text": "年度入户调研全覆盖", "weight": 15, "evidence_required": True,
     "guidance": "失访须注明原因;核对调研表与系统记录"},
    {"item_id": "plans", "text": "重度残疾人一人一策方案制定率100%", "weight": 15, "guidance": "抽查重度残疾人方案"},
    {"item_id": "hardship", "text": "困境残疾人帮扶措施落实", "weight": 10, "guidance": "低保、特困、独居人员逐一核实"},
    {"item_id": "subsidies", "text": "两项补贴按时足额发放", "weight": 10, "evidence_required": True,
     "guidance": "核对发放台账与银行流水"},
    {"item_id": "rehab", "text": "康复、辅具服务记录完整可查", "weight": 10, "guidance": "查看服务记录与回访"},
    {"item_id": "barrier_free", "text": "无障碍改造项目验收资料齐全", "weight": 10, "guidance": "现场查看改造户"},
    {"item_id": "rectification", "text": "上次督导问题整改销号", "weight": 15, "evidence_required": True,
     "guidance": "逐条核对整改台账,复查销号"},
]

HIGHLIGHTS: list[dict[str, Any]] = [
    {"department": "health", "title": "“五维一体”康复服务模式", "review": "featured", "tags": ["康复", "家庭医生"],
     "description": "医院、社区、家庭、残联、志愿者五方联动,为重度残疾人提供上门康复(演示)"},
    {"department": "civil_affairs", "title": "两项补贴“一网通办”", "review": "approved", "tags": ["补贴", "便民"],
     "description": "残疾人两项补贴申请、审核、发放全程网上办理(演示)"},
    {"department": "education", "title": "送教上门“一生一案”", "review": "submitted", "tags": ["教育"],
     "description": "为每名送教学生制定个性化教育方案(演示)"},
]


@dataclass(frozen=True)
class PlannedTask:
    """One task of the demo year and what becomes of it."""

    month: str
    department: str
    title: str
    metric: str
    unit: str
    target: int
    assignee: str | None
    org_unit_code: str | None
    issued_on: date
    deadline: date
    outcome: Outcome
    reported_on: date | None = None
    completed_on: date | None = None


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _outcome(rng: random.Random, issued: date, deadline: date, today: date) -> tuple[Outcome, date | None, date | None]:
    """What happened to a task by ``today``: (outcome, the day progress was reported, the completion day)."""
    middle = min(issued + (deadline - issued) // 2, today)
    if deadline >= today:  # this month's: under way
        if today <= issued:
            return "not_started", None, None
        now: list[Outcome] = ["on_time", "in_progress", "not_started"]
        choice = rng.choices(now, weights=(2, 5, 3))[0]
        if choice == "on_time":
            return "on_time", middle, rng.choice([middle, today])
        return (choice, middle, None) if choice == "in_progress" else (choice, None, None)
    past: list[Outcome] = ["on_time", "late", "overdue"]
    choice = rng.choices(past, weights=(65, 20, 15))[0]
    if choice == "late":
        return "late", middle, min(deadline + timedelta(days=rng.randint(1, 12)), today)
    if choice == "overdue":
        return "overdue", middle if rng.random() < 0.5 else None, None
    return "on_time", middle, max(middle, deadline - timedelta(days=rng.randint(0, 6)))


def plan_year(year: int, today: date, *, departments: list[str], seed: int = 2025) -> list[PlannedTask]:
    """Each month up to ``today``: one or two tasks per department, due mid-month to early next month,
    with their fate."""
    rng = random.Random(seed)
    planned: list[PlannedTask] = []
    for number in range(1, 13):
        first = date(year, number, 1)
        if first > today:
            break
        for department in departments:
            ideas = TASK_IDEAS.get(department, TASK_IDEAS["federation"])
            for title, metric, unit, target in rng.sample(ideas, k=min(len(ideas), rng.choice((1, 2)))):
                deadline = rng.choice([first.replace(day=15), first.replace(day=25), first.replace(day=25),
                                       _month_end(first), _month_end(first) + timedelta(days=10)])
                if first.month == today.month and first.year == today.year:  # so that some work is due soon
                    deadline = rng.choice([today + timedelta(days=3), today + timedelta(days=6), deadline])
                outcome, reported, completed = _outcome(rng, first, deadline, today)
                township = rng.choice(TOWNSHIPS)[0] if department == "federation" and rng.random() < 0.5 else None
                planned.append(PlannedTask(
                    month=f"{first:%Y-%m}", department=department, title=title, metric=metric, unit=unit,
                    target=max(1, int(target * rng.uniform(0.8, 1.2))), assignee=rng.choice(ASSIGNEES),
                    org_unit_code=township, issued_on=first, deadline=deadline, outcome=outcome,
                    reported_on=reported, completed_on=completed))
    return planned


def _poll(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for another instance to catch up with events (the demo runs outside any event loop)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)  # the instances learn each other's events over NATS within milliseconds


def load_worklists_demo(federation: httpx.Client, departments: dict[str, httpx.Client], *, year: int,
                        today: date) -> None:
    """Load the demo year through the federation's instance and each department's own.

    ``departments`` maps a department code to a client authenticated as one of that department's
    officers, pointing at the instance that serves it: its own, or the federation's for a department
    it hosts (``QD_HOSTED_DEPARTMENTS``). The federation's own work goes through ``federation``.
    Tasks are issued only to departments that can report on them, so that none looks idle for want
    of an instance.
    """
    own = expect(federation.get("/instance"), 200)["department"]
    workers = {code: client for code, client in {own: federation, **departments}.items() if code in TASK_IDEAS}
    _poll(lambda: set(workers) <= {d["code"] for d in expect(federation.get("/departments"), 200)},
          "the federation's instance to learn the departments from the registry")
    issued_months = {m["month"] for m in expect(federation.get("/task-lists"), 200)}
    plan = [t for t in plan_year(year, today, departments=list(workers)) if t.month not in issued_months]
    ids = _issue(federation, plan)
    for code, client in workers.items():
        _wait_for_tasks(client, code, {ids[i] for i, t in enumerate(plan) if t.department == code})
    for i, task in enumerate(plan):
        _work(workers[task.department], ids[i], task)
    _extend_and_cancel(federation, plan, ids, today)
    _template(federation, year, today)
    _highlights(federation, workers, year, today)


def _wait_for_tasks(client: httpx.Client, department: str, wanted: set[str]) -> None:
    def known() -> bool:
        return wanted <= {t["task_id"] for t in expect(client.get("/tasks", params={"limit": 2000}), 200)}
    _poll(known, f"{department}'s instance to learn its tasks")


def _issue(federation: httpx.Client, plan: list[PlannedTask]) -> dict[int, str]:
    ids: dict[int, str] = {}
    for month in sorted({t.month for t in plan}):
        first = date.fromisoformat(f"{month}-01")
        title = f"{first.year}年{first.month}月工作责任清单"
        expect(federation.post("/task-lists", json={"month": month, "title": title, "issued_on": first.isoformat()}),
               201)
    for i, t in enumerate(plan):
        ids[i] = expect(federation.post(f"/task-lists/{t.month}/tasks", json={
            "title": t.title, "description": f"{t.month} {t.title}:按清单要求完成并上传佐证材料(演示)",
            "responsible_department": t.department, "org_unit_code": t.org_unit_code, "assignee": t.assignee,
            "metric": t.metric, "unit": t.unit, "target_value": t.target, "issued_on": t.issued_on.isoformat(),
            "deadline": t.deadline.isoformat()}), 201)["task_id"]
    return ids


def _work(client: httpx.Client, task_id: str, task: PlannedTask) -> None:
    if task.reported_on is not None:
        done = task.target if task.outcome in ("on_time", "late") else max(0, int(task.target * 0.6))
        value = done if task.completed_on == task.reported_on else int(done * 0.5)
        expect(client.post(f"/tasks/{task_id}/progress", json={
            "value_reached": value, "note": f"已完成{value}{task.unit}(演示)",
            "evidence": [f"https://example.org/demo/evidence/{task_id}.jpg"],
            "reported_on": task.reported_on.isoformat(),
            "complete": task.completed_on == task.reported_on}), 200)
    if task.completed_on is not None and task.completed_on != task.reported_on:
        expect(client.post(f"/tasks/{task_id}/completion", json={"completed_on": task.completed_on.isoformat()}), 200)


def _extend_and_cancel(federation: httpx.Client, plan: list[PlannedTask], ids: dict[int, str], today: date) -> None:
    current = [i for i, t in enumerate(plan) if t.deadline >= today and t.completed_on is None]
    if current:
        task = plan[current[0]]
        expect(federation.post(f"/tasks/{ids[current[0]]}/deadline-extension", json={
            "new_deadline": (task.deadline + timedelta(days=10)).isoformat(),
            "reason": "配合省级专项检查,工作量增加(演示)"}), 200)
    overdue = [i for i, t in enumerate(plan) if t.outcome == "overdue"]
    if len(overdue) > 1:  # keep at least one overdue task on the dashboards
        expect(federation.post(f"/tasks/{ids[overdue[0]]}/cancellation",
                               json={"reason": "与区级专项行动合并实施(演示)"}), 200)


def _template(federation: httpx.Client, year: int, today: date) -> None:
    if federation.get("/templates/pengshan-supervision").status_code == 200:
        return
    expect(federation.put("/templates/pengshan-supervision/draft", json={
        "title": "彭山区残疾人工作督导检查指导清单", "items": TEMPLATE_ITEMS}), 200)
    expect(federation.post("/templates/pengshan-supervision/draft/publication",
                           json={"published_on": min(date(year, 1, 10), today).isoformat()}), 201)


def _highlights(federation: httpx.Client, workers: dict[str, httpx.Client], year: int, today: date) -> None:
    for n, idea in enumerate(HIGHLIGHTS):
        client = workers.get(idea["department"])
        if client is None or expect(client.get("/highlights", params={"department": idea["department"]}), 200):
            continue  # no instance to submit it, or loaded before
        submitted_on = min(date(year, 3 + 2 * n, 15), today)
        hid: str = expect(client.post("/highlights", json={
            "title": idea["title"], "description": idea["description"], "tags": idea["tags"],
            "evidence": [f"https://example.org/demo/highlights/{idea['department']}.pdf"],
            "submitted_on": submitted_on.isoformat()}), 201)["highlight_id"]
        if idea["review"] != "submitted":
            _review(federation, client, hid, idea, submitted_on, today)


def _review(federation: httpx.Client, department: httpx.Client, hid: str, idea: dict[str, Any],
            submitted_on: date, today: date) -> None:
    _poll(lambda: federation.get(f"/highlights/{hid}").status_code == 200, "the highlight to reach the federation")
    expect(federation.post(f"/highlights/{hid}/approval", json={}), 200)
    _poll(lambda: expect(department.get(f"/highlights/{hid}"), 200)["status"] == "approved",
          "the approval to reach the department")
    for channel in ("微信公众号", "眉山日报")[: 2 if idea["review"] == "featured" else 1]:
        expect(department.post("/publicity", json={
            "title": f"{idea['title']}经验做法({channel},演示)", "channel": channel, "highlight_id": hid,
            "published_on": min(submitted_on + timedelta(days=20), today).isoformat(),
            "url": f"https://example.org/demo/news/{hid}"}), 201)
    if idea["review"] == "featured":
        expect(federation.post(f"/highlights/{hid}/featuring", json={}), 200)
