"""What the inspections service's routes return: one response model per JSON shape, shown in ``/docs``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from shared.catalogue.supervision import FindingSource, ItemResult, TargetKind
from shared.catalogue.worklists import TemplateItem
from shared.http.responses import ResponseModel

InspectionStatus = Literal["scheduled", "started", "completed", "cancelled"]
RectificationStatus = Literal["assigned", "reported", "reopened", "closed"]


class GroupWritten(ResponseModel):
    """An inspection group's stream after the command."""

    group_id: str
    version: int


class Group(ResponseModel):
    """An inspection group (督导组): its leader, members and what it covers."""

    group_id: str
    version: int
    name: str
    leader: str
    members: list[str]
    township_codes: list[str]
    unit_codes: list[str]


class InspectionWritten(ResponseModel):
    """An inspection's stream after the command."""

    inspection_id: str
    version: int
    status: InspectionStatus
    score: float | None


class FindingRaised(InspectionWritten):
    """A finding was raised; ``finding_id`` names it for the rectification ledger."""

    finding_id: str


class Inspection(ResponseModel):
    """An inspection in a list."""

    inspection_id: str
    version: int
    group_id: str
    target_kind: TargetKind
    target_code: str
    target_name: str
    township_code: str | None
    template_id: str
    template_version: int
    status: InspectionStatus
    scheduled_on: date
    started_on: date | None
    completed_on: date | None
    score: float | None
    findings: int


class InspectionItem(TemplateItem):
    """A template item with its result; ``note`` and ``evidence`` only once a result is recorded."""

    result: ItemResult | None
    note: str | None = None
    evidence: list[str] | None = None


class FocusCheck(ResponseModel):
    """The focus check of one severe or hardship person (opaque id); ``note`` null once the person is erased."""

    person_id: str
    archive_complete: bool
    visited_this_year: bool
    has_plan: bool
    note: str | None
    has_issue: bool


class LedgerRef(ResponseModel):
    """The rectification ledger entry of a finding."""

    rectification_id: str
    number: str | None
    status: RectificationStatus


class Finding(ResponseModel):
    """A finding from a failed item or a focus check, with its ledger entry once assigned;
    ``description`` null once the person it is about is erased."""

    finding_id: str
    source: FindingSource
    item_id: str | None
    person_id: str | None
    description: str | None
    rectification: LedgerRef | None


class InspectionDetail(ResponseModel):
    """An inspection with its template items and results, focus checks and findings."""

    inspection_id: str
    version: int
    group_id: str
    target_kind: TargetKind
    target_code: str
    target_name: str
    township_code: str | None
    template_id: str
    template_version: int
    status: InspectionStatus
    scheduled_on: date
    started_on: date | None
    completed_on: date | None
    score: float | None
    cancel_reason: str | None
    items: list[InspectionItem]
    focus_checks: list[FocusCheck]
    findings: list[Finding]


class RegistrySays(ResponseModel):
    """What the registry's events say of a person this year."""

    visited_this_year: bool
    has_plan: bool


class FocusCheckRecorded(ResponseModel):
    """The focus check recorded for a person, without the derived ``has_issue``; ``note`` null once erased."""

    person_id: str
    archive_complete: bool
    visited_this_year: bool
    has_plan: bool
    note: str | None


class FocusPerson(ResponseModel):
    """A severe or hardship person of the township (opaque id) a focus check may concern."""

    person_id: str
    village_code: str
    severe: bool
    hardship: bool
    registry_says: RegistrySays
    checked: FocusCheckRecorded | None


class FocusPersons(ResponseModel):
    """Whom an inspection's focus checks may concern (``year`` absent when it targets no township)."""

    inspection_id: str
    township_code: str | None
    year: int | None = None
    persons: list[FocusPerson]


class RectificationWritten(ResponseModel):
    """A rectification ledger entry after the command."""

    rectification_id: str
    number: str | None
    version: int
    status: RectificationStatus
    deadline: date


class Rectification(ResponseModel):
    """A rectification ledger entry (整改台账); ``overdue`` as of today."""

    rectification_id: str
    version: int
    number: str | None
    finding_id: str
    inspection_id: str
    group_id: str
    township_code: str | None
    responsible_unit: str
    problem: str
    measures: str
    deadline: date
    status: RectificationStatus
    assigned_on: date
    reported_on: date | None
    closed_on: date | None
    reopen_count: int
    overdue: bool


class HistoryStep(ResponseModel):
    """One event of a ledger entry's history."""

    type: str
    version: int
    actor: str
    at: datetime
    data: dict[str, Any]


class RectificationDetail(Rectification):
    """A ledger entry with every step of its history."""

    history: list[HistoryStep]


class KnownTemplate(ResponseModel):
    """A template version learned from a checklists service's events."""

    template_id: str
    version: int
    title: str
    published_on: date
    supersedes: int | None
    items: list[TemplateItem]


class KnownStaff(ResponseModel):
    """A member of staff learned from the registry's events."""

    staff_id: str
    display_name: str
    department: str
    roles: list[str]
    township_code: str | None


class KnownDepartment(ResponseModel):
    """A department learned from the registry's events."""

    code: str
    name: str
    org_unit_code: str | None


class KnownTownship(ResponseModel):
    """A township learned from the registry's events."""

    code: str
    name: str
    level: str
    parent_code: str | None
