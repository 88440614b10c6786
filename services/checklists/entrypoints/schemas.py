"""What a checklists instance's routes return: one response model per JSON shape, shown in ``/docs``."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.catalogue.worklists import TemplateItem
from shared.envelope import Envelope
from shared.http.responses import ResponseModel

TaskStatus = Literal["open", "completed", "cancelled"]
HighlightStatus = Literal["submitted", "approved", "rejected", "featured"]


class Instance(ResponseModel):
    """Which department this instance is deployed for and which departments' work it writes."""

    department: str
    issuer_department: str
    is_issuer: bool
    serves: list[str]


class Department(ResponseModel):
    """A department, as learned from the registry's events."""

    code: str
    name: str


class TaskListWritten(ResponseModel):
    """A month's task list was issued."""

    list_id: str
    month: str
    version: int


class TaskList(ResponseModel):
    """A month's responsibility checklist (工作责任清单)."""

    list_id: str
    month: str
    title: str
    issuer_department: str
    issued_on: date
    version: int


class Task(ResponseModel):
    """A task: the issuer's half (``issue_version``) and the department's (``work_version``).

    ``overdue`` and ``due_soon`` are judged as of the request's ``today``.
    """

    task_id: str
    list_id: str
    month: str
    issuer_department: str
    title: str
    description: str
    responsible_department: str
    org_unit_code: str | None
    assignee: str | None
    metric: str
    unit: str
    target_value: float
    complete_when_target_reached: bool
    issued_on: date
    deadline: date
    status: TaskStatus
    value_reached: float
    progress: float
    last_reported_on: date | None
    completed_on: date | None
    completed_how: str | None
    on_time: bool | None
    cancelled_on: date | None
    cancel_reason: str | None
    extensions: int
    overdue: bool
    due_soon: bool
    issue_version: int
    work_version: int


class TaskListDetail(TaskList):
    """A month's list with the tasks of it known here."""

    tasks: list[Task]


class ProgressReport(ResponseModel):
    """One progress report on a task."""

    value_reached: float
    note: str
    evidence: list[str]
    reported_on: date
    reported_by: str


class DeadlineExtension(ResponseModel):
    """One extension of a task's deadline."""

    previous_deadline: date
    new_deadline: date
    reason: str
    extended_on: date
    extended_by: str


class TaskDetail(Task):
    """A task with its progress reports, its deadline extensions and the version of each half's stream."""

    reports: list[ProgressReport]
    deadline_extensions: list[DeadlineExtension]
    streams: dict[str, int]


class StreamCopy(ResponseModel):
    """One half of a task: its events and hash-chain check; ``copy`` if another instance writes it."""

    stream_id: str
    version: int
    written_by: str | None
    is_copy: bool = Field(alias="copy")  # ``copy`` on the wire; the name would shadow BaseModel.copy
    chain_intact: bool
    problems: list[str]
    events: list[Envelope]


class TaskHistory(ResponseModel):
    """Both halves of a task, each verified against its hash chain."""

    task_id: str
    streams: list[StreamCopy]


class TemplateDraft(ResponseModel):
    """The draft of a template's next version."""

    version: int
    title: str
    items: list[TemplateItem]


class TemplateVersion(ResponseModel):
    """A published version of a template."""

    version: int
    title: str
    published_on: date
    items: list[TemplateItem]


class Template(ResponseModel):
    """An inspection checklist template (检查指导清单): its draft and every published version."""

    template_id: str
    status: str
    version: int
    current_version: int | None
    draft: TemplateDraft | None
    versions: list[TemplateVersion]


class TemplateSummary(ResponseModel):
    """A template in the list: its current (or draft) title and item count."""

    template_id: str
    title: str
    current_version: int | None
    draft_version: int | None
    items: int
    published_on: date | None
    version: int


class Highlight(ResponseModel):
    """A highlight (特色亮点): the department's submission and the issuer's review."""

    highlight_id: str
    department: str
    title: str
    description: str
    tags: list[str]
    evidence: list[str]
    submitted_on: date
    status: HighlightStatus
    reject_reason: str | None
    approved_on: date | None
    featured_on: date | None
    submission_version: int
    review_version: int


class Publicity(ResponseModel):
    """A publicity item (宣传清单)."""

    item_id: str
    department: str
    title: str
    channel: str
    published_on: date
    highlight_id: str | None
    url: str | None
    withdrawn: bool
    withdraw_reason: str | None
    version: int
