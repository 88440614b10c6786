"""Command inputs of the inspections service: pydantic models validated at the edge (HTTP body or CLI)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.catalogue.supervision import ItemResult, TargetKind
from shared.commands import Command as Command  # re-exported: routes and use cases name c.Command
from shared.commands import VersionedCommand as VersionedCommand

_STAFF = r"^[a-zA-Z0-9_.-]{2,50}$"
_CODE = r"^\d{12}$"
_UNIT = r"^[a-z0-9_-]{2,50}$"
_LINK = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
"""One evidence link: a URL, never the document itself."""
_ID = Annotated[str, StringConstraints(min_length=1, max_length=50)]
"""A staff id, division code or unit code in a list (the domain checks what each names)."""


def _links() -> list[str]:
    """A list of evidence links (photos, documents), at most 20 of at most 2000 characters each."""
    return Field(default_factory=list, max_length=20, description="Links to photos or documents")


class FormGroup(Command):
    name: str = Field(min_length=1, max_length=100, description="e.g. 第一督导组")
    leader: str = Field(pattern=_STAFF, description="Staff id of the leader (made a member)")
    members: list[_ID] = Field(default_factory=list, max_length=50)
    township_codes: list[_ID] = Field(default_factory=list, max_length=50, description="Townships it covers")
    unit_codes: list[_ID] = Field(default_factory=list, max_length=50, description="Lead units it covers")


class ChangeMembership(VersionedCommand):
    leader: str = Field(pattern=_STAFF)
    members: list[_ID] = Field(default_factory=list, max_length=50)


class ChangeCoverage(VersionedCommand):
    township_codes: list[_ID] = Field(default_factory=list, max_length=50)
    unit_codes: list[_ID] = Field(default_factory=list, max_length=50)


class ScheduleInspection(Command):
    group_id: str = Field(min_length=1, max_length=36)
    target_kind: TargetKind
    target_code: str = Field(min_length=1, max_length=50,
                             description="Township code, department code, or the demonstration site's code")
    target_name: str | None = Field(default=None, max_length=200,
                                    description="Needed for a demonstration site; looked up otherwise")
    township_code: str | None = Field(default=None, pattern=_CODE,
                                      description="The township a demonstration site lies in")
    template_id: str = Field(min_length=1, max_length=100)
    template_version: int = Field(ge=1)
    scheduled_on: date


class StartInspection(VersionedCommand):
    started_on: date | None = Field(default=None, description="Default: today")


class RecordItem(VersionedCommand):
    result: ItemResult
    note: str = Field(default="", max_length=2000)
    evidence: list[_LINK] = _links()


class RecordFocusCheck(VersionedCommand):
    archive_complete: bool = Field(description="档案是否完整")
    visited_this_year: bool = Field(description="今年是否入户")
    has_plan: bool = Field(description="是否有一人一策")
    note: str = Field(default="", max_length=2000)


class RaiseFinding(VersionedCommand):
    item_id: str | None = Field(default=None, max_length=100, description="The failed item it comes from")
    person_id: str | None = Field(default=None, max_length=36,
                                  description="Or the person whose focus check had a \"no\"")
    description: str = Field(min_length=1, max_length=2000)


class CompleteInspection(VersionedCommand):
    completed_on: date | None = Field(default=None, description="Default: today")


class CancelInspection(VersionedCommand):
    reason: str = Field(min_length=1, max_length=500)


class AssignRectification(Command):
    responsible_unit: str = Field(pattern=_UNIT, description="Department code of the unit that must act")
    measures: str = Field(min_length=1, max_length=2000, description="整改措施")
    deadline: date = Field(description="整改期限")
    assigned_on: date | None = Field(
        default=None, description="Default: today; an earlier date enters a ledger entry after the fact")


class ReportRectification(VersionedCommand):
    measures_taken: str = Field(default="", max_length=2000)
    evidence: list[_LINK] = _links()
    reported_on: date | None = Field(default=None, description="Default: today")


class VerifyRectification(VersionedCommand):
    note: str = Field(default="", max_length=2000, description="What was re-checked (required)")
    evidence: list[_LINK] = _links()
    verified_on: date | None = Field(default=None, description="Default: today")


class ReopenRectification(VersionedCommand):
    reason: str = Field(default="", max_length=2000, description="Why it is not done (required)")
    reopened_on: date | None = Field(default=None, description="Default: today")


class ExtendDeadline(VersionedCommand):
    deadline: date
    reason: str = Field(min_length=1, max_length=500)
