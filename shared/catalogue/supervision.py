"""Events of supervision: inspection groups (督导组), inspections, findings and the rectification ledger.

Published by the inspections service. Three stream types: ``group``, ``inspection`` (which also
holds the findings an inspection raises) and ``rectification`` (one stream per ledger entry).
Persons appear only by their opaque ``person_id``, never by name or certificate number; a free
text written about a person (a focus check's note, a finding from a focus check, the problem of its
ledger entry) travels only sealed with a key the inspections service keeps for that person and
destroys when the registry erases them.

Events repeat the facts that read models group and filter by (group, inspection, township,
responsible unit, current deadline), so that reporting never has to ask the inspections service.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from shared.catalogue.base import EventPayload, event, upcaster

Sealed = dict[str, str]
LEGACY_TEXT = "Clear text of an event written before the text was sealed (an older schema version); empty since"


def _nothing_sealed(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "sealed": {}}

TargetKind = Literal["township", "lead_unit", "demonstration_site"]
ItemResult = Literal["pass", "fail", "not_applicable"]
FindingSource = Literal["item", "focus_check"]

LEDGER_NUMBER_PATTERN = r"^ZG-\d{4}-\d{4,}$"


@event("group.formed", stream_type="group")
class GroupFormed(EventPayload):
    """An inspection group (督导组) formed by the federation: leader, members and what it covers.

    ``members`` lists every member's staff id, the leader included.
    """

    group_id: str
    name: str
    leader: str
    members: list[str]
    township_codes: list[str]
    unit_codes: list[str]


@event("group.membership_changed", stream_type="group")
class GroupMembershipChanged(EventPayload):
    """The leader and/or members of a group replaced by a new set (the leader is always a member)."""

    group_id: str
    leader: str
    members: list[str]


@event("group.coverage_changed", stream_type="group")
class GroupCoverageChanged(EventPayload):
    """The townships and units a group covers replaced by a new set."""

    group_id: str
    township_codes: list[str]
    unit_codes: list[str]


class InspectionFacts(EventPayload):
    """What every inspection event repeats: which inspection, by which group, of which target."""

    inspection_id: str
    group_id: str
    target_kind: TargetKind
    target_code: str
    township_code: str | None = None


@event("inspection.scheduled", stream_type="inspection")
class InspectionScheduled(InspectionFacts):
    """A group schedules an inspection of a target with one published template version.

    ``township_code`` is the target itself for a township, the township a demonstration site lies in,
    and for a lead unit the township it belongs to, if any.
    """

    target_name: str
    template_id: str
    template_version: int = Field(ge=1)
    scheduled_on: date


@event("inspection.started", stream_type="inspection")
class InspectionStarted(InspectionFacts):
    """The group arrived: the inspection is under way and results can be recorded."""

    started_on: date


@event("inspection.item_checked", stream_type="inspection")
class ItemChecked(InspectionFacts):
    """The result of one template item; a later result for the same item replaces an earlier one."""

    template_id: str
    template_version: int = Field(ge=1)
    item_id: str
    result: ItemResult
    note: str = ""
    evidence: list[str] = Field(default_factory=list)


@event("inspection.focus_check_recorded", stream_type="inspection", version=2)
class FocusCheckRecorded(InspectionFacts):
    """A focus check on one severe or hardship person of the township (by opaque id).

    A later check of the same person replaces an earlier one. Schema v2 seals the ``note`` (in
    ``sealed``) with the person's key; v1 events keep theirs in clear in ``note``.
    """

    person_id: str
    archive_complete: bool
    visited_this_year: bool
    has_plan: bool
    sealed: Sealed = Field(default_factory=dict, description="``note``, sealed with the person's key")
    note: str = Field(default="", description=LEGACY_TEXT)


upcaster("inspection.focus_check_recorded", from_version=1)(_nothing_sealed)


@event("finding.recorded", stream_type="inspection", version=2)
class FindingRecorded(InspectionFacts):
    """A problem found by the inspection, raised from a failed item or a focus check with a "no".

    Exactly one of ``item_id`` (source ``item``) and ``person_id`` (source ``focus_check``) is set.
    Schema v2: a focus check's finding is about a person, so its ``description`` is sealed with
    the person's key (in ``sealed``, ``description`` empty); an item's finding stays in clear.
    """

    finding_id: str
    source: FindingSource
    item_id: str | None = None
    person_id: str | None = None
    description: str = ""
    sealed: Sealed = Field(default_factory=dict, description="``description`` of a focus check's finding, sealed")


upcaster("finding.recorded", from_version=1)(_nothing_sealed)


@event("inspection.completed", stream_type="inspection")
class InspectionCompleted(InspectionFacts):
    """The inspection completed, every template item having a result.

    ``score`` = 100 × Σ weight(pass) / Σ weight(pass + fail), rounded to one decimal; items not
    applicable are left out. When no applicable item carries weight (all not applicable) there is
    nothing to score and ``score`` is ``None`` rather than a flattering 100. ``item_results`` is the
    final result of each item.
    """

    target_name: str
    template_id: str
    template_version: int = Field(ge=1)
    completed_on: date
    score: float | None = Field(default=None, ge=0, le=100)
    items_passed: int = Field(ge=0)
    items_failed: int = Field(ge=0)
    items_not_applicable: int = Field(ge=0)
    focus_checks: int = Field(ge=0)
    focus_checks_with_issues: int = Field(ge=0)
    findings: int = Field(ge=0)
    item_results: dict[str, ItemResult]


@event("inspection.cancelled", stream_type="inspection")
class InspectionCancelled(InspectionFacts):
    """A scheduled or started inspection called off, with the reason (a completed one cannot be)."""

    reason: str


class RectificationFacts(EventPayload):
    """What every ledger event repeats: the entry, its source, who must act, where, and by when.

    ``deadline`` is the deadline in force after the event.
    """

    rectification_id: str
    number: str | None = Field(default=None, pattern=LEDGER_NUMBER_PATTERN)
    finding_id: str
    inspection_id: str
    group_id: str
    township_code: str | None = None
    responsible_unit: str
    deadline: date


@event("rectification.assigned", stream_type="rectification", version=2)
class RectificationAssigned(RectificationFacts):
    """A finding entered into the rectification ledger (整改台账), assigned to a responsible unit.

    Schema v2: the ``problem`` of a focus check's finding (about a person) is its sealed
    description, copied in ``sealed`` (``problem`` empty); other problems stay in clear.
    """

    target_kind: TargetKind
    target_code: str
    target_name: str
    problem: str
    sealed: Sealed = Field(default_factory=dict, description="The finding's sealed description, if it had one")
    person_id: str | None = Field(default=None, description="The person a focus check's finding is about")
    measures: str
    assigned_on: date


upcaster("rectification.assigned", from_version=1)(_nothing_sealed)


@event("rectification.reported", stream_type="rectification")
class RectificationReported(RectificationFacts):
    """The responsible unit reports the problem rectified: the measures taken, with evidence."""

    measures_taken: str
    evidence: list[str] = Field(min_length=1)
    reported_on: date


@event("rectification.verified", stream_type="rectification")
class RectificationVerified(RectificationFacts):
    """An inspector re-checked the rectification and closed the entry (复查销号); nothing moves it after."""

    verified_on: date
    verifier: str
    note: str
    evidence: list[str] = Field(min_length=1)


@event("rectification.reopened", stream_type="rectification")
class RectificationReopened(RectificationFacts):
    """An inspector re-checked a reported rectification, found it not done, and sent it back."""

    reopened_on: date
    reopened_by: str
    reason: str


@event("rectification.deadline_extended", stream_type="rectification")
class RectificationDeadlineExtended(RectificationFacts):
    """The deadline moved later, with the reason; ``deadline`` is the new one."""

    previous_deadline: date
    reason: str
