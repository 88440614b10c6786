"""HTTP routes of a checklists instance: translate requests into use cases, nothing more."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from services.checklists.application import commands as c
from services.checklists.application import highlights, tasks, templates, views
from services.checklists.application.deps import ChecklistsDeps
from shared.auth import CurrentPrincipal
from shared.catalogue.worklists import MONTH_PATTERN
from shared.http.bounds import DayBounds, Offset
from shared.http.commands import execute
from shared.runtime import ServiceRuntime

router = APIRouter()

Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")]
TemplateId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$")]
Today = Annotated[date | None, Query(description="Compute overdue / due soon as of this day (default: today)"),
                  DayBounds]


def _deps(request: Request) -> ChecklistsDeps:
    deps: ChecklistsDeps = request.app.state.deps
    return deps


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@router.get("/instance", tags=["instance"], summary="Which department this instance serves")
async def instance(request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    deps = _deps(request)
    return {"department": deps.department, "issuer_department": deps.issuer_department,
            "is_issuer": deps.is_issuer, "serves": sorted(deps.served)}


@router.get("/departments", tags=["instance"], summary="Departments learned from the registry's events")
async def list_departments(request: Request, _who: CurrentPrincipal) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_departments(conn)


# --- monthly responsibility checklists ------------------------------------------------------------


@router.post("/task-lists", status_code=201, tags=["tasks"], summary="Issue a month's task list (issuer)")
async def issue_list(body: c.IssueTaskList, request: Request, who: CurrentPrincipal) -> dict[str, Any]:
    return await execute(request, lambda conn: tasks.issue_list(conn, _deps(request), who, body))


@router.get("/task-lists", tags=["tasks"])
async def list_task_lists(request: Request, _who: CurrentPrincipal) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_task_lists(conn)


@router.get("/task-lists/{month}", tags=["tasks"], summary="A month's list with the tasks known here")
async def get_task_list(month: Month, request: Request, _who: CurrentPrincipal, today: Today = None) -> Any:
    async with _runtime(request).engine.connect() as conn:
        return await views.get_task_list(conn, month, today or _deps(request).today())


@router.post("/task-lists/{month}/tasks", status_code=201, tags=["tasks"], summary="Issue a task (issuer)")
async def issue_task(month: Month, body: c.IssueTask, request: Request, who: CurrentPrincipal) -> dict[str, Any]:
    return await execute(request, lambda conn: tasks.issue_task(conn, _deps(request), who, month, body))


@router.get("/tasks", tags=["tasks"], summary="Tasks known here, filtered; overdue and due soon as of `today`")
async def list_tasks(
    request: Request, _who: CurrentPrincipal,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    department: str | None = None,
    status: Literal["open", "completed", "cancelled"] | None = None,
    assignee: str | None = None, overdue: bool | None = None, due_soon: bool | None = None, today: Today = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500, offset: Offset = 0,
) -> list[dict[str, Any]]:
    f = views.TaskFilter(month=month, department=department, status=status, assignee=assignee,
                         overdue=overdue, due_soon=due_soon)
    async with _runtime(request).engine.connect() as conn:
        return await views.list_tasks(conn, f, today or _deps(request).today(), limit=limit, offset=offset)


@router.get("/tasks/{task_id}", tags=["tasks"], summary="A task with its progress reports and extensions")
async def get_task(task_id: str, request: Request, _who: CurrentPrincipal, today: Today = None) -> dict[str, Any]:
    deps = _deps(request)
    async with _runtime(request).engine.connect() as conn:
        return await views.task_detail(conn, deps, task_id, today or deps.today())


@router.get("/tasks/{task_id}/history", tags=["tasks", "audit"],
            summary="Every event of both halves of a task, with their hash-chain checks")
async def task_history(task_id: str, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.task_history(conn, _deps(request), task_id)


@router.post("/tasks/{task_id}/progress", tags=["tasks"], summary="Report progress (responsible department)")
async def report_progress(task_id: str, body: c.ReportProgress, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: tasks.report_progress(conn, _deps(request), who, task_id, body))


@router.post("/tasks/{task_id}/completion", tags=["tasks"], summary="Report completion (responsible department)")
async def complete_task(task_id: str, body: c.CompleteTask, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: tasks.complete_task(conn, _deps(request), who, task_id, body))


@router.post("/tasks/{task_id}/deadline-extension", tags=["tasks"], summary="Extend a deadline (issuer)")
async def extend_deadline(task_id: str, body: c.ExtendDeadline, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: tasks.extend_deadline(conn, _deps(request), who, task_id, body))


@router.post("/tasks/{task_id}/cancellation", tags=["tasks"], summary="Cancel a task (issuer)")
async def cancel_task(task_id: str, body: c.CancelTask, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: tasks.cancel_task(conn, _deps(request), who, task_id, body))


# --- inspection checklist templates ---------------------------------------------------------------


@router.get("/templates", tags=["templates"])
async def list_templates(request: Request, _who: CurrentPrincipal) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await templates.list_templates(conn)


@router.get("/templates/{template_id}", tags=["templates"], summary="A template: its draft and every version")
async def get_template(template_id: TemplateId, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await templates.get_template(conn, _deps(request), template_id)


@router.put("/templates/{template_id}/draft", tags=["templates"], summary="Save the next version's draft")
async def save_draft(template_id: TemplateId, body: c.SaveTemplateDraft, request: Request,
                     who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: templates.save_draft(conn, _deps(request), who, template_id, body))


@router.post("/templates/{template_id}/draft/publication", status_code=201, tags=["templates"],
             summary="Publish the draft as the next version")
async def publish_draft(template_id: TemplateId, body: c.PublishDraft, request: Request,
                        who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: templates.publish_draft(conn, _deps(request), who, template_id, body))


@router.post("/templates/{template_id}/versions", status_code=201, tags=["templates"],
             summary="Publish a new version with its full item list")
async def publish_version(template_id: TemplateId, body: c.PublishTemplateVersion, request: Request,
                          who: CurrentPrincipal) -> Any:
    return await execute(
        request, lambda conn: templates.publish_version(conn, _deps(request), who, template_id, body))


# --- highlights and publicity ---------------------------------------------------------------------


@router.post("/highlights", status_code=201, tags=["highlights"], summary="Submit a highlight (a department)")
async def submit_highlight(body: c.SubmitHighlight, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: highlights.submit(conn, _deps(request), who, body))


@router.get("/highlights", tags=["highlights"])
async def list_highlights(
    request: Request, _who: CurrentPrincipal, department: str | None = None,
    status: Literal["submitted", "approved", "rejected", "featured"] | None = None,
) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_highlights(conn, department, status)


@router.get("/highlights/{highlight_id}", tags=["highlights"])
async def get_highlight(highlight_id: str, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.highlight_json(conn, highlight_id)


@router.post("/highlights/{highlight_id}/approval", tags=["highlights"], summary="Approve (issuer)")
async def approve(highlight_id: str, body: c.ReviewHighlight, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: highlights.approve(conn, _deps(request), who, highlight_id, body))


@router.post("/highlights/{highlight_id}/rejection", tags=["highlights"], summary="Reject with a reason (issuer)")
async def reject(highlight_id: str, body: c.RejectHighlight, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: highlights.reject(conn, _deps(request), who, highlight_id, body))


@router.post("/highlights/{highlight_id}/featuring", tags=["highlights"], summary="Feature (issuer)")
async def feature(highlight_id: str, body: c.ReviewHighlight, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: highlights.feature(conn, _deps(request), who, highlight_id, body))


@router.post("/publicity", status_code=201, tags=["publicity"], summary="List a publicity item (a department)")
async def list_publicity_item(body: c.ListPublicity, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: highlights.list_publicity_item(conn, _deps(request), who, body))


@router.get("/publicity", tags=["publicity"])
async def list_publicity(request: Request, _who: CurrentPrincipal, department: str | None = None) -> list[Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_publicity(conn, department)


@router.post("/publicity/{item_id}/withdrawal", tags=["publicity"], summary="Withdraw a publicity item")
async def withdraw_publicity(item_id: str, body: c.WithdrawPublicity, request: Request,
                             who: CurrentPrincipal) -> Any:
    return await execute(
        request, lambda conn: highlights.withdraw_publicity_item(conn, _deps(request), who, item_id, body))
