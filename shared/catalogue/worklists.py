"""Events of the work lists: monthly responsibility checklists, inspection templates, highlights, publicity.

Published by the checklists service (one instance per department). Every event repeats the keys a
read model groups by (task id, responsible department, month; highlight id and department), so that
reporting and inspections build their views from the events alone, without calling the service.

Streams: ``tasklist`` (the month's list, as issued), ``task`` (one stream per task, so that
concurrent updates to different tasks never conflict), ``template`` (one stream per inspection
checklist template, holding all its versions), ``highlight`` and ``publicity`` (one per item).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.catalogue.base import EventPayload, event

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
ORG_UNIT_PATTERN = r"^\d{12}$"

TaskStatus = Literal["open", "completed", "cancelled"]
CompletionHow = Literal["reported", "target_reached"]
Month = str


# --- responsibility checklists (工作责任清单) -------------------------------------------------


@event("tasklist.issued", stream_type="tasklist")
class TaskListIssued(EventPayload):
    """The month's responsibility checklist opened by the issuing department (the federation)."""

    list_id: str
    month: Month = Field(pattern=MONTH_PATTERN)
    title: str
    issuer_department: str
    issued_on: date


@event("task.issued", stream_type="task")
class TaskIssued(EventPayload):
    """A task of a monthly list: who is responsible, the quantified target and the deadline."""

    task_id: str
    list_id: str
    month: Month = Field(pattern=MONTH_PATTERN)
    issuer_department: str
    title: str
    description: str
    responsible_department: str
    org_unit_code: str | None = Field(default=None, pattern=ORG_UNIT_PATTERN)
    assignee: str | None = None
    metric: str
    unit: str
    target_value: float = Field(gt=0)
    complete_when_target_reached: bool
    issued_on: date
    deadline: date


@event("task.progress_reported", stream_type="task")
class TaskProgressReported(EventPayload):
    """The responsible department reported how far the task has got (the cumulative value reached)."""

    task_id: str
    month: Month = Field(pattern=MONTH_PATTERN)
    responsible_department: str
    value_reached: float = Field(ge=0)
    target_value: float = Field(gt=0)
    note: str = ""
    evidence: list[str] = Field(default_factory=list)
    reported_on: date


@event("task.completed", stream_type="task")
class TaskCompleted(EventPayload):
    """A task done: reported complete, or its target value reached (when the task says that completes it).

    ``deadline`` is the deadline in force at completion and ``on_time`` whether ``completed_on`` met it,
    so that scoreboards count on-time and late completions from this event alone.
    """

    task_id: str
    month: Month = Field(pattern=MONTH_PATTERN)
    responsible_department: str
    completed_on: date
    how: CompletionHow
    deadline: date
    on_time: bool


@event("task.deadline_extended", stream_type="task")
class TaskDeadlineExtended(EventPayload):
    """The issuer moved a task's deadline later, with the reason."""

    task_id: str
    month: Month = Field(pattern=MONTH_PATTERN)
    responsible_department: str
    previous_deadline: date
    new_deadline: date
    reason: str = Field(min_length=1)
    extended_on: date


@event("task.cancelled", stream_type="task")
class TaskCancelled(EventPayload):
    """A task withdrawn, with the reason; it no longer counts as open or overdue."""

    task_id: str
    month: Month = Field(pattern=MONTH_PATTERN)
    responsible_department: str
    reason: str = Field(min_length=1)
    cancelled_on: date


# --- inspection checklist templates (检查指导清单) --------------------------------------------


class TemplateItem(BaseModel):
    """One item an inspection group checks: what, how to check it, its weight, whether evidence is needed.

    The one definition of a template item: the checklists service's command bodies and domain, the
    template events and the inspections service's known templates all use it, so a weight of zero,
    a blank id or an over-long text is refused where the item is made (strings are stripped first).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    item_id: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=1000)
    guidance: str = Field(default="", max_length=4000)
    weight: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    evidence_required: bool = False


@event("template.draft_saved", stream_type="template")
class TemplateDraftSaved(EventPayload):
    """The working copy of a template's next version saved (replacing any earlier draft); not yet usable."""

    template_id: str
    version: int = Field(ge=1)
    title: str
    items: list[TemplateItem]


@event("template.version_published", stream_type="template")
class TemplateVersionPublished(EventPayload):
    """A template version published, immutable from now on, with its full item list.

    Inspections use it from this event alone. A later version supersedes it (``supersedes`` names the
    version it replaces) but never rewrites it: inspections made with it keep referring to it.
    """

    template_id: str
    version: int = Field(ge=1)
    title: str
    items: list[TemplateItem] = Field(min_length=1)
    published_on: date
    supersedes: int | None = None


# --- highlights (特色亮点清单) and publicity (宣传清单) -----------------------------------------


@event("highlight.submitted", stream_type="highlight")
class HighlightSubmitted(EventPayload):
    """A department put forward a practice worth spreading, with evidence, for review."""

    highlight_id: str
    department: str
    title: str
    description: str
    tags: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    submitted_on: date


@event("highlight.approved", stream_type="highlight")
class HighlightApproved(EventPayload):
    """The federation accepted a submitted highlight."""

    highlight_id: str
    department: str
    approved_on: date


@event("highlight.rejected", stream_type="highlight")
class HighlightRejected(EventPayload):
    """The federation turned a submitted highlight down, with the reason."""

    highlight_id: str
    department: str
    reason: str = Field(min_length=1)
    rejected_on: date


@event("highlight.featured", stream_type="highlight")
class HighlightFeatured(EventPayload):
    """The federation featured an approved highlight on the highlights wall."""

    highlight_id: str
    department: str
    featured_on: date


@event("publicity.listed", stream_type="publicity")
class PublicityItemListed(EventPayload):
    """A department listed a piece of publicity it has done (article, broadcast, post …)."""

    item_id: str
    department: str
    title: str
    channel: str
    published_on: date
    highlight_id: str | None = None
    url: str | None = None


@event("publicity.withdrawn", stream_type="publicity")
class PublicityItemWithdrawn(EventPayload):
    """A publicity item taken off the list (listed by mistake, duplicate …), with the reason."""

    item_id: str
    department: str
    reason: str = Field(min_length=1)
