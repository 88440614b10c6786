"""Every route of a checklists instance against every role, the expected statuses from its access
table (``services/checklists/application/access.py``, shown in docs/checklists.md).

The routes come from the app's OpenAPI document, so a new route fails here until it has a row and
a cell. The instance is the issuer's, hosting health; every principal belongs to health, so each
row's condition (the issuer's instance; the task's or highlight's own department) holds and the
role alone decides. Each cell makes its own task, template or highlight.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.checklists.adapters.tables import departments
from services.checklists.application.access import TABLE, markdown_table
from services.checklists.bootstrap import build_app
from services.checklists.settings import ChecklistsSettings
from shared.auth import Principal, Role
from shared.runtime import ServiceRuntime
from shared.testing.access import Cell, MakeCell, answers_by_role, fixed, send, unlisted_routes
from shared.testing.http import app_client
from shared.testing.usecases import principal

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 20)
MONTH = "2026-03"
STAFF: dict[Role, Principal] = {role: principal(f"{role.value}-1", role, department="health",
                                                 township_code="511403100000") for role in Role}
ADMIN = STAFF[Role.FEDERATION_ADMIN]
OFFICER = STAFF[Role.DEPARTMENT_OFFICER]
TASK = {"title": "残疾人家庭医生签约", "description": "签约率达到 90%", "responsible_department": "health",
        "metric": "签约人数", "unit": "人", "target_value": 10, "issued_on": "2026-03-01", "deadline": "2026-03-25"}
ITEMS = [{"item_id": "a", "text": "档案齐全", "weight": 1}]
HIGHLIGHT = {"title": "上门签约", "description": "全覆盖", "evidence": ["photo://1"], "submitted_on": "2026-03-05"}
PUBLICITY = {"title": "宣传", "channel": "微信公众号", "published_on": "2026-03-06"}
_n = itertools.count(1)


@dataclasses.dataclass
class Instance:
    app: FastAPI
    client: httpx.AsyncClient

    async def as_(self, who: Principal, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await send(self.app, self.client, who, method, Cell(path, body))
        assert response.status_code < 300, response.text
        result: dict[str, Any] = response.json()
        return result

    async def task(self) -> str:
        return str((await self.as_(ADMIN, "POST", f"/task-lists/{MONTH}/tasks", TASK))["task_id"])

    async def template(self) -> str:
        template_id = f"tpl-{next(_n)}"
        await self.as_(ADMIN, "PUT", f"/templates/{template_id}/draft", {"title": "督导清单", "items": ITEMS})
        return template_id

    async def highlight(self, *, approved: bool = False) -> str:
        highlight_id = str((await self.as_(OFFICER, "POST", "/highlights", HIGHLIGHT))["highlight_id"])
        if approved:
            await self.as_(ADMIN, "POST", f"/highlights/{highlight_id}/approval", {})
        return highlight_id

    async def publicity(self) -> str:
        return str((await self.as_(OFFICER, "POST", "/publicity", PUBLICITY))["item_id"])


def cells(ins: Instance, task_id: str, template_id: str, highlight_id: str) -> dict[str, MakeCell]:
    """How to exercise each route (the public ones need no cell)."""
    async def on_task(suffix: str, body: dict[str, Any]) -> Cell:
        return Cell(f"/tasks/{await ins.task()}/{suffix}", body)

    async def on_template(suffix: str, success: int) -> Cell:
        return Cell(f"/templates/{await ins.template()}/{suffix}", {}, success)

    async def on_highlight(suffix: str, body: dict[str, Any], *, approved: bool = False) -> Cell:
        return Cell(f"/highlights/{await ins.highlight(approved=approved)}/{suffix}", body)

    async def withdrawal() -> Cell:
        return Cell(f"/publicity/{await ins.publicity()}/withdrawal", {"reason": "过期"})

    def month() -> MakeCell:
        async def make() -> Cell:
            n = next(_n)
            return Cell("/task-lists", {"month": f"{2030 + n // 12}-{n % 12 + 1:02d}", "title": "清单",
                                        "issued_on": TODAY.isoformat()}, 201)
        return make

    def template_version() -> MakeCell:
        return lambda: fixed(f"/templates/tpl-{next(_n)}/versions", {"title": "督导清单", "items": ITEMS}, 201)()

    return {
        "POST /task-lists": month(),
        "GET /task-lists": fixed("/task-lists"),
        "GET /task-lists/{month}": fixed(f"/task-lists/{MONTH}"),
        "POST /task-lists/{month}/tasks": fixed(f"/task-lists/{MONTH}/tasks", TASK, 201),
        "GET /tasks": fixed("/tasks"),
        "GET /tasks/{task_id}": fixed(f"/tasks/{task_id}"),
        "GET /tasks/{task_id}/history": fixed(f"/tasks/{task_id}/history"),
        "POST /tasks/{task_id}/progress": lambda: on_task("progress", {"value_reached": 3,
                                                                       "reported_on": "2026-03-10"}),
        "POST /tasks/{task_id}/completion": lambda: on_task("completion", {"completed_on": "2026-03-15"}),
        "POST /tasks/{task_id}/deadline-extension": lambda: on_task("deadline-extension", {
            "new_deadline": "2026-04-10", "reason": "春节"}),
        "POST /tasks/{task_id}/cancellation": lambda: on_task("cancellation", {"reason": "任务合并"}),
        "GET /templates": fixed("/templates"),
        "GET /templates/{template_id}": fixed(f"/templates/{template_id}"),
        "PUT /templates/{template_id}/draft": lambda: fixed(
            f"/templates/tpl-{next(_n)}/draft", {"title": "督导清单", "items": ITEMS})(),
        "POST /templates/{template_id}/draft/publication": lambda: on_template("draft/publication", 201),
        "POST /templates/{template_id}/versions": template_version(),
        "POST /highlights": fixed("/highlights", HIGHLIGHT, 201),
        "GET /highlights": fixed("/highlights"),
        "GET /highlights/{highlight_id}": fixed(f"/highlights/{highlight_id}"),
        "POST /highlights/{highlight_id}/approval": lambda: on_highlight("approval", {}),
        "POST /highlights/{highlight_id}/rejection": lambda: on_highlight("rejection", {"reason": "证据不足"}),
        "POST /highlights/{highlight_id}/featuring": lambda: on_highlight("featuring", {}, approved=True),
        "POST /publicity": fixed("/publicity", PUBLICITY, 201),
        "GET /publicity": fixed("/publicity"),
        "POST /publicity/{item_id}/withdrawal": withdrawal,
        "GET /instance": fixed("/instance"),
        "GET /departments": fixed("/departments"),
        "GET /streams/{stream_id}": fixed(f"/streams/task-{task_id}"),
    }


@pytest.fixture
async def instance(database_url: str, tmp_path: Path) -> AsyncIterator[Instance]:
    settings = ChecklistsSettings(data_dir=tmp_path, database_url=database_url, mode="development",
                                  nats_url="nats://127.0.0.1:1", hosted_departments="health")
    app = build_app(settings)
    app.state.deps = dataclasses.replace(app.state.deps, today=lambda: TODAY)
    async with app_client(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        async with runtime.engine.begin() as conn:  # what the registry's events would have taught it
            await conn.execute(departments.insert(), [{"code": "federation", "name": "残联"},
                                                      {"code": "health", "name": "卫健局"}])
        ins = Instance(app, client)
        await ins.as_(ADMIN, "POST", "/task-lists", {"month": MONTH, "title": "三月清单", "issued_on": "2026-03-01"})
        yield ins


async def test_every_route_answers_every_role_as_the_access_table_says(instance: Instance) -> None:
    made = cells(instance, await instance.task(), await instance.template(), await instance.highlight())
    assert unlisted_routes(instance.app, TABLE.routes(), made, public=set(TABLE.public)) == []
    assert await answers_by_role(instance.app, instance.client, made, STAFF, TABLE.allows) == []


def test_docs_show_the_access_table() -> None:
    docs = (Path(__file__).parents[4] / "docs" / "checklists.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, "regenerate the table: python -m services.checklists access-table"

