"""HTTP routes of a checklists instance: translate requests into use cases, nothing more."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.checklists.application import commands as c
from services.checklists.application import highlights, tasks, templates, views
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.entrypoints import schemas as s
from shared.auth import CurrentPrincipal
from shared.catalogue.worklists import MONTH_PATTERN
from shared.http.bounds import DayBounds, Offset
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter()

Deps = Annotated[ChecklistsDeps, Depends(service_deps(ChecklistsDeps))]
Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")]
TemplateId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$")]
Today = Annotated[date | None, Query(description="Compute overdue / due soon as of this day (default: today)"),
                  DayBounds]


@router.get("/instance", tags=["instance"], summary="Which department this instance serves")
async def instance(_who: CurrentPrincipal, deps: Deps) -> s.Instance:
    return s.Instance(department=deps.department, issuer_department=deps.issuer_department,
                      is_issuer=deps.is_issuer, serves=sorted(deps.served))


@router.get("/departments", tags=["instance"], summary="Departments learned from the registry's events")
async def list_departments(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.Department]:
    return [s.Department.model_validate(d) for d in await views.list_departments(conn)]


# --- monthly responsibility checklists ------------------------------------------------------------


@router.post("/task-lists", status_code=201, tags=["tasks"], summary="Issue a month's task list (issuer)")
async def issue_list(body: c.IssueTaskList, request: Request, who: CurrentPrincipal, deps: Deps) -> s.TaskListWritten:
    return s.TaskListWritten.model_validate(
        await execute(request, lambda uow: tasks.issue_list(uow, deps, who, body), buffered=True))


@router.get("/task-lists", tags=["tasks"])
async def list_task_lists(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.TaskList]:
    return [s.TaskList.model_validate(t) for t in await views.list_task_lists(conn)]


@router.get("/task-lists/{month}", tags=["tasks"], summary="A month's list with the tasks known here")
async def get_task_list(
    month: Month, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection, today: Today = None
) -> s.TaskListDetail:
    return s.TaskListDetail.model_validate(await views.get_task_list(conn, month, today or deps.today()))


@router.post("/task-lists/{month}/tasks", status_code=201, tags=["tasks"], summary="Issue a task (issuer)")
async def issue_task(month: Month, body: c.IssueTask, request: Request, who: CurrentPrincipal, deps: Deps) -> s.Task:
    return s.Task.model_validate(
        await execute(request, lambda uow: tasks.issue_task(uow, deps, who, month, body), buffered=True))


@router.get("/tasks", tags=["tasks"], summary="Tasks known here, filtered; overdue and due soon as of `today`")
async def list_tasks(
    _who: CurrentPrincipal, deps: Deps, conn: ReadConnection,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    department: str | None = None,
    status: s.TaskStatus | None = None,
    assignee: str | None = None, overdue: bool | None = None, due_soon: bool | None = None, today: Today = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500, offset: Offset = 0,
) -> list[s.Task]:
    f = views.TaskFilter(month=month, department=department, status=status, assignee=assignee,
                         overdue=overdue, due_soon=due_soon)
    found = await views.list_tasks(conn, f, today or deps.today(), limit=limit, offset=offset)
    return [s.Task.model_validate(t) for t in found]


@router.get("/tasks/{task_id}", tags=["tasks"], summary="A task with its progress reports and extensions")
async def get_task(
    task_id: str, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection, today: Today = None
) -> s.TaskDetail:
    return s.TaskDetail.model_validate(await views.task_detail(conn, deps, task_id, today or deps.today()))


@router.get("/tasks/{task_id}/history", tags=["tasks", "audit"],
            summary="Every event of both halves of a task, with their hash-chain checks")
async def task_history(task_id: str, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> s.TaskHistory:
    return s.TaskHistory.model_validate(await views.task_history(conn, deps, task_id))


@router.post("/tasks/{task_id}/progress", tags=["tasks"], summary="Report progress (responsible department)")
async def report_progress(
    task_id: str, body: c.ReportProgress, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Task:
    return s.Task.model_validate(
        await execute(request, lambda uow: tasks.report_progress(uow, deps, who, task_id, body), buffered=True))


@router.post("/tasks/{task_id}/completion", tags=["tasks"], summary="Report completion (responsible department)")
async def complete_task(
    task_id: str, body: c.CompleteTask, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Task:
    return s.Task.model_validate(
        await execute(request, lambda uow: tasks.complete_task(uow, deps, who, task_id, body), buffered=True))


@router.post("/tasks/{task_id}/deadline-extension", tags=["tasks"], summary="Extend a deadline (issuer)")
async def extend_deadline(
    task_id: str, body: c.ExtendDeadline, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Task:
    return s.Task.model_validate(
        await execute(request, lambda uow: tasks.extend_deadline(uow, deps, who, task_id, body), buffered=True))


@router.post("/tasks/{task_id}/cancellation", tags=["tasks"], summary="Cancel a task (issuer)")
async def cancel_task(task_id: str, body: c.CancelTask, request: Request, who: CurrentPrincipal, deps: Deps) -> s.Task:
    return s.Task.model_validate(
        await execute(request, lambda uow: tasks.cancel_task(uow, deps, who, task_id, body), buffered=True))


# --- inspection checklist templates ---------------------------------------------------------------


@router.get("/templates", tags=["templates"])
async def list_templates(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.TemplateSummary]:
    return [s.TemplateSummary.model_validate(t) for t in await templates.list_templates(conn)]


@router.get("/templates/{template_id}", tags=["templates"], summary="A template: its draft and every version")
async def get_template(template_id: TemplateId, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> s.Template:
    return s.Template.model_validate(await templates.get_template(conn, deps, template_id))


@router.put("/templates/{template_id}/draft", tags=["templates"], summary="Save the next version's draft")
async def save_draft(
    template_id: TemplateId, body: c.SaveTemplateDraft, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Template:
    return s.Template.model_validate(
        await execute(request, lambda uow: templates.save_draft(uow, deps, who, template_id, body), buffered=True))


@router.post("/templates/{template_id}/draft/publication", status_code=201, tags=["templates"],
             summary="Publish the draft as the next version")
async def publish_draft(
    template_id: TemplateId, body: c.PublishDraft, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Template:
    return s.Template.model_validate(
        await execute(request, lambda uow: templates.publish_draft(uow, deps, who, template_id, body), buffered=True))


@router.post("/templates/{template_id}/versions", status_code=201, tags=["templates"],
             summary="Publish a new version with its full item list")
async def publish_version(
    template_id: TemplateId, body: c.PublishTemplateVersion, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Template:
    return s.Template.model_validate(
        await execute(request, lambda uow: templates.publish_version(uow, deps, who, template_id, body), buffered=True))


# --- highlights and publicity ---------------------------------------------------------------------


@router.post("/highlights", status_code=201, tags=["highlights"], summary="Submit a highlight (a department)")
async def submit_highlight(body: c.SubmitHighlight, request: Request, who: CurrentPrincipal, deps: Deps) -> s.Highlight:
    return s.Highlight.model_validate(
        await execute(request, lambda uow: highlights.submit(uow, deps, who, body), buffered=True))


@router.get("/highlights", tags=["highlights"])
async def list_highlights(
    _who: CurrentPrincipal, conn: ReadConnection, department: str | None = None,
    status: s.HighlightStatus | None = None,
) -> list[s.Highlight]:
    return [s.Highlight.model_validate(h) for h in await views.list_highlights(conn, department, status)]


@router.get("/highlights/{highlight_id}", tags=["highlights"])
async def get_highlight(highlight_id: str, _who: CurrentPrincipal, conn: ReadConnection) -> s.Highlight:
    return s.Highlight.model_validate(await views.highlight_json(conn, highlight_id))


@router.post("/highlights/{highlight_id}/approval", tags=["highlights"], summary="Approve (issuer)")
async def approve(
    highlight_id: str, body: c.ReviewHighlight, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Highlight:
    return s.Highlight.model_validate(
        await execute(request, lambda uow: highlights.approve(uow, deps, who, highlight_id, body), buffered=True))


@router.post("/highlights/{highlight_id}/rejection", tags=["highlights"], summary="Reject with a reason (issuer)")
async def reject(
    highlight_id: str, body: c.RejectHighlight, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Highlight:
    return s.Highlight.model_validate(
        await execute(request, lambda uow: highlights.reject(uow, deps, who, highlight_id, body), buffered=True))


@router.post("/highlights/{highlight_id}/featuring", tags=["highlights"], summary="Feature (issuer)")
async def feature(
    highlight_id: str, body: c.ReviewHighlight, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Highlight:
    return s.Highlight.model_validate(
        await execute(request, lambda uow: highlights.feature(uow, deps, who, highlight_id, body), buffered=True))


@router.post("/publicity", status_code=201, tags=["publicity"], summary="List a publicity item (a department)")
async def list_publicity_item(
    body: c.ListPublicity, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Publicity:
    return s.Publicity.model_validate(
        await execute(request, lambda uow: highlights.list_publicity_item(uow, deps, who, body), buffered=True))


@router.get("/publicity", tags=["publicity"])
async def list_publicity(
    _who: CurrentPrincipal, conn: ReadConnection, department: str | None = None
) -> list[s.Publicity]:
    return [s.Publicity.model_validate(p) for p in await views.list_publicity(conn, department)]


@router.post("/publicity/{item_id}/withdrawal", tags=["publicity"], summary="Withdraw a publicity item")
async def withdraw_publicity(
    item_id: str, body: c.WithdrawPublicity, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.Publicity:
    return s.Publicity.model_validate(
        await execute(request, lambda uow: highlights.withdraw_publicity_item(uow, deps, who, item_id, body),
                      buffered=True))
