"""What the reporting service's JSON routes return: one response model per shape, shown in ``/docs``.

Counts and rates come from the read models; a rate is null when there is nothing to divide by.
Days are ``date`` fields, serialised as ``YYYY-MM-DD`` by the models.
"""

from __future__ import annotations

from datetime import date

from shared.http.responses import ResponseModel

Positions = dict[str, int]
"""Each consumer's checkpoint (last stream sequence applied), to tell how fresh a view is."""


# --- coverage -----------------------------------------------------------------------------------


class Figures(ResponseModel):
    """Counts of one group of persons in one unit, and the rates as shares of those registered.

    ``attempted``: persons with a visit attempt this year; ``visited``: reached (a 失访 attempt
    before or after does not change it); ``lost`` (失访): attempted, never reached, and
    ``lost_reasons`` counts them by the reason of their latest 失访 attempt (``not_recorded`` when
    the visit gave none).
    """

    registered: int
    attempted: int
    visited: int
    lost: int
    planned: int
    delivered: int
    attempted_rate: float | None
    visited_rate: float | None
    lost_rate: float | None
    planned_rate: float | None
    delivered_rate: float | None
    lost_reasons: dict[str, int]


class UnitCoverage(ResponseModel):
    """One org unit's coverage for all persons, the severe and those in hardship; children to the depth asked."""

    code: str
    name: str
    level: str
    all: Figures
    severe: Figures
    hardship: Figures
    children: list[UnitCoverage] | None = None


class Coverage(UnitCoverage):
    """Coverage (覆盖率) of a unit for a year."""

    year: int
    positions: Positions


# --- rehabilitation ------------------------------------------------------------------------------


class RehabilitationFigures(ResponseModel):
    """Persons of a unit with a rehabilitation need this year, those who received the basic
    rehabilitation service, the share (null when nobody needs it) and whether it meets the target."""

    code: str
    name: str
    level: str
    with_need: int
    received: int
    rate: float | None
    meets_target: bool | None


class RehabilitationUnit(RehabilitationFigures):
    """A unit's figures with its children, to the depth asked."""

    children: list[RehabilitationUnit] | None = None


class Rehabilitation(RehabilitationUnit):
    """The basic rehabilitation service indicator (基本康复服务覆盖率) of a unit for a year."""

    year: int
    target: float
    below_target: list[RehabilitationFigures]
    positions: Positions


# --- the rectification ledger ----------------------------------------------------------------------


class SourceInspection(ResponseModel):
    """The inspection a ledger entry's finding came from."""

    inspection_id: str
    group_id: str
    group_name: str | None
    inspected_on: date | None
    target_kind: str | None
    target_code: str | None
    target_name: str | None
    label: str


class LedgerStep(ResponseModel):
    """One step of a ledger entry's history: opened, reported, re-checked, reopened, extended."""

    step: int
    kind: str
    label: str
    on: date
    actor: str
    detail: str
    evidence: list[str]
    deadline: date


class LedgerEntry(ResponseModel):
    """A rectification ledger entry (整改台账) with its history; ``overdue`` as of the request's ``today``."""

    rectification_id: str
    number: str | None
    source_inspection: SourceInspection
    problem: str
    responsible_unit: str
    responsible_unit_name: str
    township_code: str | None
    township_name: str | None
    measures: str
    measures_taken: str | None
    deadline: date
    status: str
    status_label: str
    overdue: bool
    days_overdue: int
    assigned_on: date
    reported_on: date | None
    closed_on: date | None
    reopen_count: int
    history: list[LedgerStep]


class Ledger(ResponseModel):
    """The ledger as of ``today``."""

    today: date
    count: int
    entries: list[LedgerEntry]
    positions: Positions


class OverdueGroup(ResponseModel):
    """Open and overdue entries of one responsible unit or township."""

    code: str | None
    name: str | None
    open: int
    awaiting_recheck: int
    overdue: int
    oldest_overdue_deadline: date | None
    overdue_numbers: list[str]


class Overdue(ResponseModel):
    """Open and overdue entries on ``today``, by responsible unit and by township."""

    today: date
    open: int
    overdue: int
    by_unit: list[OverdueGroup]
    by_township: list[OverdueGroup]


# --- inspection results ------------------------------------------------------------------------------


class ScoredInspection(ResponseModel):
    """A completed inspection and its score."""

    inspection_id: str
    completed_on: date
    score: float | None
    group_id: str
    group_name: str | None
    target_kind: str
    target_name: str
    template_id: str
    template_version: int
    items_failed: int | None
    focus_checks_with_issues: int | None


class MonthScore(ResponseModel):
    """A month's completed inspections and their average score."""

    month: str
    inspections: int
    average_score: float


class TownshipScores(ResponseModel):
    """A township's inspection scores over time."""

    township_code: str | None
    township_name: str | None
    inspections: int
    average_score: float | None
    latest_score: float | None
    by_month: list[MonthScore]
    inspections_list: list[ScoredInspection]


class PassFigures(ResponseModel):
    """Final results of one template item: passed, failed, not applicable, and the pass rate."""

    passed: int
    failed: int
    not_applicable: int
    pass_rate: float | None


class TownshipPass(PassFigures):
    """An item's results in one township."""

    township_code: str | None


class MonthPass(PassFigures):
    """An item's results in one month."""

    month: str


class ItemScores(PassFigures):
    """One template item's pass rate overall, by township and by month."""

    template_id: str
    template_version: int
    item_id: str
    text: str | None
    weight: float | None
    by_township: list[TownshipPass]
    by_month: list[MonthPass]


class Scores(ResponseModel):
    """Inspection scores by township and by template item."""

    townships: list[TownshipScores]
    items: list[ItemScores]


class OpenFinding(ResponseModel):
    """A finding not yet closed; ``overdue`` as of the request's ``today``."""

    finding_id: str
    inspection_id: str
    target_name: str | None
    township_code: str | None
    source: str
    item_id: str | None
    description: str
    recorded_on: date
    status: str
    number: str | None
    responsible_unit: str | None
    deadline: date | None
    overdue: bool


class GroupFindings(ResponseModel):
    """One inspection group's open findings, split by where they stand."""

    group_id: str
    name: str
    leader: str | None
    open: int
    not_in_ledger: int
    awaiting_unit: int
    awaiting_recheck: int
    overdue: int
    findings: list[OpenFinding]


class OpenFindings(ResponseModel):
    """Findings not yet closed, per inspection group, as of ``today``."""

    today: date
    groups: list[GroupFindings]


# --- tasks, scoreboard, highlights -------------------------------------------------------------------


class TaskRow(ResponseModel):
    """A responsibility-checklist task; ``overdue`` and ``due_soon`` as of the request's ``today``."""

    task_id: str
    list_id: str
    month: str
    issuer_department: str
    title: str
    responsible_department: str
    org_unit_code: str | None
    assignee: str | None
    metric: str
    unit: str
    target_value: float
    value_reached: float
    progress: float
    issued_on: date
    deadline: date
    extended: bool
    status: str
    overdue: bool
    due_soon: bool
    last_reported_on: date | None
    completed_on: date | None
    on_time: bool | None
    cancel_reason: str | None


class Tasks(ResponseModel):
    """A page of matching tasks and how many match in all."""

    today: date
    count: int
    tasks: list[TaskRow]


class Tally(ResponseModel):
    """Counts of a group of tasks; ``completion_rate`` = completed / tasks, ``on_time_rate`` = on time / due."""

    tasks: int
    open: int
    completed: int
    completed_on_time: int
    completed_late: int
    overdue: int
    due_soon: int
    cancelled: int
    completion_rate: float | None
    on_time_rate: float | None


class MonthDepartmentTally(Tally):
    """A tally of one month's tasks of one department."""

    month: str
    responsible_department: str


class TaskSummary(ResponseModel):
    """Task counts in total and by month and department."""

    today: date
    total: Tally
    by_month_and_department: list[MonthDepartmentTally]


class DepartmentScore(Tally):
    """A department on the scoreboard (创先争优); equal scores share a rank."""

    department: str
    rank: int


class Scoreboard(ResponseModel):
    """Departments ranked by on-time rate, completion rate, then fewest overdue."""

    today: date
    month: str | None
    year: int | None
    departments: list[DepartmentScore]


class PublicityRef(ResponseModel):
    """A publicity item about a highlight."""

    item_id: str
    title: str
    channel: str
    published_on: date
    url: str | None


class WallHighlight(ResponseModel):
    """A highlight on the wall (特色亮点清单) with the publicity about it."""

    highlight_id: str
    department: str
    title: str
    description: str
    tags: list[str]
    evidence: list[str]
    submitted_on: date
    status: str
    reject_reason: str | None
    approved_on: date | None
    featured_on: date | None
    publicity: list[PublicityRef]


class Publicity(ResponseModel):
    """A publicity item (宣传清单); withdrawn ones are flagged."""

    item_id: str
    department: str
    title: str
    channel: str
    published_on: date
    highlight_id: str | None
    url: str | None
    withdrawn: bool
    withdraw_reason: str | None
