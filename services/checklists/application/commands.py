"""Command inputs of the checklists service: pydantic models validated at the edge (HTTP body or CLI).

Shapes and formats are checked here; the rules (a deadline before the issue date, progress on a
cancelled task …) are the domain's, which names the field it refuses.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.catalogue.worklists import MONTH_PATTERN, ORG_UNIT_PATTERN, TemplateItem
from shared.commands import Command as Command  # re-exported: routes and use cases name c.Command
from shared.commands import VersionedCommand as VersionedCommand

# Every free-text and list field is bounded (docs/events.md, "Size limits"); what the bounds allow
# together can still exceed QD_MAX_EVENT_BYTES (a long template), which the event store refuses.
_LINK = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
"""One evidence link: a URL, never the document itself."""
_TAG = Annotated[str, StringConstraints(min_length=1, max_length=50)]
MAX_TEMPLATE_ITEMS = 200
"""Items in one template version."""


class IssueTaskList(Command):
    month: str = Field(pattern=MONTH_PATTERN, description="YYYY-MM")
    title: str = Field(min_length=1, max_length=200)
    issued_on: date | None = Field(default=None, description="Default: today")


class IssueTask(Command):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    responsible_department: str = Field(min_length=1, max_length=50)
    org_unit_code: str | None = Field(default=None, pattern=ORG_UNIT_PATTERN)
    assignee: str | None = Field(default=None, max_length=200)
    metric: str = Field(min_length=1, max_length=100, description="What is counted, e.g. 签约人数")
    unit: str = Field(min_length=1, max_length=20, description="e.g. 人, 户, 次")
    target_value: float = Field(gt=0, allow_inf_nan=False)
    complete_when_target_reached: bool = False
    issued_on: date | None = Field(default=None, description="Default: today")
    deadline: date


class ReportProgress(VersionedCommand):
    value_reached: float = Field(ge=0, allow_inf_nan=False, description="Cumulative value reached so far")
    note: str = Field(default="", max_length=2000)
    evidence: list[_LINK] = Field(default_factory=list, max_length=20,
                                  description="Links to photos, records, documents")
    reported_on: date | None = Field(default=None, description="Default: today")
    complete: bool = Field(default=False, description="Also report the task complete")


class CompleteTask(VersionedCommand):
    completed_on: date | None = Field(default=None, description="Default: today")


class ExtendDeadline(VersionedCommand):
    new_deadline: date
    reason: str = Field(min_length=1, max_length=1000)


class CancelTask(VersionedCommand):
    reason: str = Field(min_length=1, max_length=1000)


class SaveTemplateDraft(VersionedCommand):
    title: str = Field(min_length=1, max_length=200)
    items: list[TemplateItem] = Field(default_factory=list, max_length=MAX_TEMPLATE_ITEMS)


class PublishTemplateVersion(VersionedCommand):
    title: str = Field(min_length=1, max_length=200)
    items: list[TemplateItem] = Field(min_length=1, max_length=MAX_TEMPLATE_ITEMS)
    published_on: date | None = Field(default=None, description="Default: today")


class PublishDraft(VersionedCommand):
    published_on: date | None = Field(default=None, description="Default: today")


class SubmitHighlight(Command):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=8000)
    tags: list[_TAG] = Field(default_factory=list, max_length=20)
    evidence: list[_LINK] = Field(min_length=1, max_length=20, description="At least one link")
    submitted_on: date | None = Field(default=None, description="Default: today")


class ReviewHighlight(VersionedCommand):
    """Approve or feature: nothing to say but the version seen."""


class RejectHighlight(VersionedCommand):
    reason: str = Field(min_length=1, max_length=1000)


class ListPublicity(Command):
    title: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=50, description="e.g. 微信公众号, 电视台, 报纸")
    published_on: date
    highlight_id: str | None = Field(default=None, max_length=36)
    url: str | None = Field(default=None, max_length=500)


class WithdrawPublicity(VersionedCommand):
    reason: str = Field(min_length=1, max_length=1000)
