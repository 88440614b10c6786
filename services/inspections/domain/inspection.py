"""The inspection (督导检查): a group's visit to a target with one template version, and its findings.

Lifecycle: scheduled → started → completed (or cancelled before completion). Item results and
focus checks are recorded only while it is started; findings are raised during or after the visit,
from a failed item or a focus check with a "no".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import singledispatch
from typing import Any, Literal

from services.inspections.domain.group import Group
from services.inspections.domain.templates import KnownTemplate
from shared.catalogue import EventPayload
from shared.catalogue.supervision import (
    FindingRecorded,
    FindingSource,
    FocusCheckRecorded,
    InspectionCancelled,
    InspectionCompleted,
    InspectionScheduled,
    InspectionStarted,
    ItemChecked,
    ItemResult,
    TargetKind,
)
from shared.errors import DomainRuleViolated, InvalidInput

InspectionStatus = Literal["scheduled", "started", "completed", "cancelled"]

Seal = Callable[[str, dict[str, str]], dict[str, str]]
"""Seals free texts about a person (``person_id``, texts) with that person's key; the caller
provides it, so that the domain stays pure."""


@dataclass(frozen=True)
class ItemCheck:
    """The current result of one template item."""

    item_id: str
    result: ItemResult
    note: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class FocusCheck:
    """The current focus check of one severe or hardship person (opaque id)."""

    person_id: str
    archive_complete: bool
    visited_this_year: bool
    has_plan: bool
    note: str
    """The note in clear, from an event written before notes were sealed."""
    sealed: Mapping[str, str] = field(default_factory=dict)
    """The note, sealed with the person's key (see :data:`Seal`)."""

    @property
    def has_issue(self) -> bool:
        """Whether any answer is "no" (which allows a finding)."""
        return not (self.archive_complete and self.visited_this_year and self.has_plan)


@dataclass(frozen=True)
class Finding:
    """A problem raised by the inspection; ``item_id`` or ``person_id`` names its source."""

    finding_id: str
    source: FindingSource
    item_id: str | None
    person_id: str | None
    description: str
    """In clear: an item's finding, or a focus check's from before they were sealed."""
    sealed: Mapping[str, str] = field(default_factory=dict)
    """A focus check's finding: the description sealed with the person's key."""


@dataclass(frozen=True)
class Inspection:
    """An inspection's state as folded from its stream."""

    inspection_id: str
    group_id: str
    target_kind: TargetKind
    target_code: str
    target_name: str
    township_code: str | None
    template_id: str
    template_version: int
    scheduled_on: date
    status: InspectionStatus = "scheduled"
    started_on: date | None = None
    completed_on: date | None = None
    score: float | None = None
    cancel_reason: str | None = None
    results: dict[str, ItemCheck] = field(default_factory=dict)
    focus_checks: dict[str, FocusCheck] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)

    def facts(self) -> dict[str, Any]:
        """The fields every inspection event repeats."""
        return {"inspection_id": self.inspection_id, "group_id": self.group_id,
                "target_kind": self.target_kind, "target_code": self.target_code,
                "township_code": self.township_code}


def evolve(state: Inspection | None, event: EventPayload) -> Inspection:
    """Apply one event to an inspection."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Inspection | None) -> Inspection:
    raise TypeError(f"an inspection stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: InspectionScheduled, state: Inspection | None) -> Inspection:
    return Inspection(event.inspection_id, event.group_id, event.target_kind, event.target_code,
                      event.target_name, event.township_code, event.template_id, event.template_version,
                      event.scheduled_on)


@_apply.register
def _(event: InspectionStarted, state: Inspection) -> Inspection:
    return replace(state, status="started", started_on=event.started_on)


@_apply.register
def _(event: ItemChecked, state: Inspection) -> Inspection:
    check = ItemCheck(event.item_id, event.result, event.note, tuple(event.evidence))
    return replace(state, results={**state.results, check.item_id: check})


@_apply.register
def _(event: FocusCheckRecorded, state: Inspection) -> Inspection:
    check = FocusCheck(event.person_id, event.archive_complete, event.visited_this_year, event.has_plan,
                       event.note, dict(event.sealed))
    return replace(state, focus_checks={**state.focus_checks, check.person_id: check})


@_apply.register
def _(event: FindingRecorded, state: Inspection) -> Inspection:
    finding = Finding(event.finding_id, event.source, event.item_id, event.person_id, event.description,
                      dict(event.sealed))
    return replace(state, findings={**state.findings, finding.finding_id: finding})


@_apply.register
def _(event: InspectionCompleted, state: Inspection) -> Inspection:
    return replace(state, status="completed", completed_on=event.completed_on, score=event.score)


@_apply.register
def _(event: InspectionCancelled, state: Inspection) -> Inspection:
    return replace(state, status="cancelled", cancel_reason=event.reason)


def schedule(
    inspection: Inspection | None, group: Group, template: KnownTemplate, *, inspection_id: str,
    target_kind: TargetKind, target_code: str, target_name: str, township_code: str | None,
    scheduled_on: date,
) -> list[EventPayload]:
    """Schedule an inspection of a target the group covers, with one known template version."""
    if inspection is not None:
        raise DomainRuleViolated(f"inspection {inspection_id} already exists")
    if not target_name.strip():
        raise InvalidInput("an inspection needs the target's name", field="target_name")
    if not template.items:
        raise InvalidInput(f"template {template.label} has no items to check", field="template_id")
    if target_kind == "township":
        if township_code not in (None, target_code):
            raise InvalidInput(f"a township target is its own township, not {township_code}",
                               field="township_code")
        township_code = target_code
    elif target_kind == "demonstration_site" and not township_code:
        raise InvalidInput("a demonstration site needs the township it lies in", field="township_code")
    covered = group.covers_unit(target_code) if target_kind == "lead_unit" else (
        township_code is not None and group.covers_township(township_code))
    if not covered:
        where = target_code if target_kind != "demonstration_site" else f"township {township_code}"
        raise DomainRuleViolated(f"group {group.name} ({group.group_id}) does not cover {where}")
    return [InspectionScheduled(
        inspection_id=inspection_id, group_id=group.group_id, target_kind=target_kind,
        target_code=target_code, target_name=target_name.strip(), township_code=township_code,
        template_id=template.template_id, template_version=template.version, scheduled_on=scheduled_on)]


def start(inspection: Inspection, *, started_on: date, today: date) -> list[EventPayload]:
    """The group arrives: a scheduled inspection is under way."""
    if inspection.status != "scheduled":
        raise DomainRuleViolated(f"inspection {inspection.inspection_id} is {inspection.status}: "
                                 "it cannot start")
    if started_on > today:
        raise InvalidInput(f"start date {started_on} is in the future", field="started_on")
    return [InspectionStarted(**inspection.facts(), started_on=started_on)]


def _require_under_way(inspection: Inspection, action: str) -> None:
    why = {
        "scheduled": "it has not started yet",
        "completed": f"it was completed on {inspection.completed_on}",
        "cancelled": f"it was cancelled ({inspection.cancel_reason})",
    }.get(inspection.status)
    if why is not None:
        raise DomainRuleViolated(f"cannot {action} on inspection {inspection.inspection_id}: {why}")


def _require_template(inspection: Inspection, template: KnownTemplate) -> None:
    if (template.template_id, template.version) != (inspection.template_id, inspection.template_version):
        uses = f"{inspection.template_id} v{inspection.template_version}"
        raise DomainRuleViolated(f"inspection {inspection.inspection_id} uses template {uses}, "
                                 f"not {template.label}")


def _raised_from(
    inspection: Inspection, *, item_id: str | None = None, person_id: str | None = None
) -> list[str]:
    return sorted(f.finding_id for f in inspection.findings.values()
                  if (item_id is not None and f.item_id == item_id)
                  or (person_id is not None and f.person_id == person_id))


def record_item(
    inspection: Inspection, template: KnownTemplate, *, item_id: str, result: ItemResult, note: str,
    evidence: Collection[str],
) -> list[EventPayload]:
    """Record (or correct) the result of one item of the inspection's template version."""
    _require_under_way(inspection, "record a result")
    _require_template(inspection, template)
    item = template.item(item_id)
    if item is None:
        raise InvalidInput(f"template {template.label} has no item {item_id}", field="item_id")
    links = [link.strip() for link in evidence if link.strip()]
    if result == "pass" and item.evidence_required and not links:
        raise InvalidInput(f"item {item_id} requires evidence for a pass", field="evidence")
    if result == "fail" and not note.strip():
        raise InvalidInput(f"a failed item needs a note saying what is wrong ({item_id})", field="note")
    findings = _raised_from(inspection, item_id=item_id)
    if result != "fail" and findings:
        raise DomainRuleViolated(f"item {item_id} has finding(s) {', '.join(findings)} raised from its "
                                 f"failure: its result cannot become {result}")
    return [ItemChecked(**inspection.facts(), template_id=template.template_id,
                        template_version=template.version, item_id=item_id, result=result,
                        note=note.strip(), evidence=links)]


def record_focus_check(
    inspection: Inspection, *, person_id: str, archive_complete: bool, visited_this_year: bool,
    has_plan: bool, note: str, focus_persons: Collection[str], seal: Seal,
) -> list[EventPayload]:
    """Record (or correct) a focus check of a severe or hardship person of the target (``focus_persons``)."""
    _require_under_way(inspection, "record a focus check")
    if person_id not in focus_persons:
        where = f"township {inspection.township_code}" if inspection.township_code else "this target"
        raise InvalidInput(f"person {person_id} is not a severe or hardship person of {where}",
                           field="person_id")
    findings = _raised_from(inspection, person_id=person_id)
    if findings and archive_complete and visited_this_year and has_plan:
        raise DomainRuleViolated(f"person {person_id}'s check has finding(s) {', '.join(findings)}: "
                                 "it cannot become all \"yes\"")
    return [FocusCheckRecorded(**inspection.facts(), person_id=person_id, archive_complete=archive_complete,
                               visited_this_year=visited_this_year, has_plan=has_plan,
                               sealed=seal(person_id, {"note": note.strip()}) if note.strip() else {})]


def raise_finding(
    inspection: Inspection, *, finding_id: str, description: str, seal: Seal, item_id: str | None = None,
    person_id: str | None = None,
) -> list[EventPayload]:
    """Raise a finding from a failed item or a focus check with a "no" (during or after the visit)."""
    if inspection.status in ("scheduled", "cancelled"):
        raise DomainRuleViolated(f"inspection {inspection.inspection_id} is {inspection.status}: no findings")
    if finding_id in inspection.findings:
        raise DomainRuleViolated(f"finding {finding_id} is already recorded")
    if (item_id is None) == (person_id is None):
        raise InvalidInput("a finding comes from exactly one failed item or one focus check", field="item_id")
    if not description.strip():
        raise InvalidInput("a finding needs a description of the problem", field="description")
    source: FindingSource
    if item_id is not None:
        check = inspection.results.get(item_id)
        if check is None or check.result != "fail":
            state = "has no result" if check is None else f"is {check.result}"
            raise DomainRuleViolated(f"item {item_id} {state}: only a failed item raises a finding")
        source = "item"
    else:
        focus = inspection.focus_checks.get(str(person_id))
        if focus is None or not focus.has_issue:
            state = "was not checked" if focus is None else "was all \"yes\""
            raise DomainRuleViolated(f"person {person_id} {state}: "
                                     "only a focus check with a \"no\" raises a finding")
        source = "focus_check"
    if person_id is not None:  # about a person: sealed with their key
        return [FindingRecorded(**inspection.facts(), finding_id=finding_id, source=source, person_id=person_id,
                                sealed=seal(person_id, {"description": description.strip()}))]
    return [FindingRecorded(**inspection.facts(), finding_id=finding_id, source=source, item_id=item_id,
                            description=description.strip())]


def complete(
    inspection: Inspection, template: KnownTemplate, *, completed_on: date, today: date
) -> list[EventPayload]:
    """Complete the inspection once every template item has a result; compute its score."""
    _require_under_way(inspection, "complete")
    _require_template(inspection, template)
    missing = [item_id for item_id in template.item_ids if item_id not in inspection.results]
    if missing:
        raise DomainRuleViolated(f"inspection {inspection.inspection_id} cannot complete: "
                                 f"item(s) without a result: {', '.join(missing)}")
    if completed_on > today:
        raise InvalidInput(f"completion date {completed_on} is in the future", field="completed_on")
    if inspection.started_on is not None and completed_on < inspection.started_on:
        raise InvalidInput(f"completion date {completed_on} is before the start {inspection.started_on}",
                           field="completed_on")
    results = {item_id: inspection.results[item_id].result for item_id in template.item_ids}
    counts = Counter(results.values())
    return [InspectionCompleted(
        **inspection.facts(), target_name=inspection.target_name, template_id=template.template_id,
        template_version=template.version, completed_on=completed_on, score=template.score(results),
        items_passed=counts["pass"], items_failed=counts["fail"],
        items_not_applicable=counts["not_applicable"],
        focus_checks=len(inspection.focus_checks),
        focus_checks_with_issues=sum(1 for c in inspection.focus_checks.values() if c.has_issue),
        findings=len(inspection.findings), item_results=results)]


def cancel(inspection: Inspection, *, reason: str) -> list[EventPayload]:
    """Call off a scheduled or started inspection, with a reason."""
    if inspection.status in ("completed", "cancelled"):
        raise DomainRuleViolated(f"inspection {inspection.inspection_id} is already {inspection.status}")
    if not reason.strip():
        raise InvalidInput("cancelling an inspection needs a reason", field="reason")
    return [InspectionCancelled(**inspection.facts(), reason=reason.strip())]
