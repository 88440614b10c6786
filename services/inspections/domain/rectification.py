"""The rectification ledger (整改台账): one entry per finding, moved by the unit and the inspectors.

Lifecycle: assigned → reported (by the responsible unit, with evidence) → closed (re-checked and
cancelled by an inspector, 复查销号, with a note and evidence) or reopened (with a reason) →
reported again … The deadline can be extended with a reason while the unit still has to act.
Nothing moves a closed entry. Who may do what is the application's check: the responsible unit's
officers report (``responsible_unit``), members of the group verify, reopen and extend (``group_id``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch
from typing import Any, Literal

from services.inspections.domain.inspection import Inspection
from shared.catalogue import EventPayload
from shared.catalogue.supervision import (
    LEDGER_NUMBER_PATTERN,
    RectificationAssigned,
    RectificationDeadlineExtended,
    RectificationReopened,
    RectificationReported,
    RectificationVerified,
)
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

RectificationStatus = Literal["assigned", "reported", "reopened", "closed"]

#: Statuses in which the responsible unit still has to act, and so can be overdue.
AWAITING_UNIT: frozenset[str] = frozenset({"assigned", "reopened"})


def rectification_id_for(finding_id: str) -> str:
    """A finding has at most one ledger entry: its stream id says which."""
    return f"rect-{finding_id}"


def ledger_number(year: int, sequence: int) -> str:
    """The printed ledger number, e.g. ``ZG-2026-0001`` (the application keeps the sequence)."""
    return f"ZG-{year:04d}-{sequence:04d}"


def is_overdue(deadline: date, status: str, today: date) -> bool:
    """Overdue (逾期): the deadline has passed and the unit has not reported it rectified.

    The deadline day itself is not overdue. An entry reported and awaiting re-check is not
    overdue; if it is reopened after its deadline it is overdue again.
    """
    return status in AWAITING_UNIT and today > deadline


@dataclass(frozen=True)
class Rectification:
    """A ledger entry's state as folded from its stream."""

    rectification_id: str
    number: str | None
    finding_id: str
    inspection_id: str
    group_id: str
    township_code: str | None
    responsible_unit: str
    problem: str
    measures: str
    deadline: date
    assigned_on: date
    status: RectificationStatus = "assigned"
    reported_on: date | None = None
    closed_on: date | None = None
    reopen_count: int = 0

    def facts(self) -> dict[str, Any]:
        """The fields every ledger event repeats."""
        return {"rectification_id": self.rectification_id, "number": self.number,
                "finding_id": self.finding_id, "inspection_id": self.inspection_id, "group_id": self.group_id,
                "township_code": self.township_code, "responsible_unit": self.responsible_unit,
                "deadline": self.deadline}

    def overdue(self, today: date) -> bool:
        """Whether the entry is overdue on ``today``."""
        return is_overdue(self.deadline, self.status, today)


def evolve(state: Rectification | None, event: EventPayload) -> Rectification:
    """Apply one event to a ledger entry."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Rectification | None) -> Rectification:
    raise TypeError(f"a rectification stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: RectificationAssigned, state: Rectification | None) -> Rectification:
    return Rectification(event.rectification_id, event.number, event.finding_id, event.inspection_id,
                         event.group_id, event.township_code, event.responsible_unit, event.problem,
                         event.measures, event.deadline, event.assigned_on)


@_apply.register
def _(event: RectificationReported, state: Rectification) -> Rectification:
    return replace(state, status="reported", reported_on=event.reported_on)


@_apply.register
def _(event: RectificationVerified, state: Rectification) -> Rectification:
    return replace(state, status="closed", closed_on=event.verified_on)


@_apply.register
def _(event: RectificationReopened, state: Rectification) -> Rectification:
    return replace(state, status="reopened", reopen_count=state.reopen_count + 1)


@_apply.register
def _(event: RectificationDeadlineExtended, state: Rectification) -> Rectification:
    return replace(state, deadline=event.deadline)


def _clean(values: Collection[str]) -> list[str]:
    return [value.strip() for value in values if value.strip()]


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise InvalidInput(f"{field.replace('_', ' ')} {day} is in the future", field=field)


def _require(rect: Rectification, allowed: Collection[str], action: str) -> None:
    if rect.status == "closed":
        raise DomainRuleViolated(f"rectification {rect.number or rect.rectification_id} was closed on "
                                 f"{rect.closed_on}: nothing can {action} it")
    if rect.status not in allowed:
        raise DomainRuleViolated(f"cannot {action} rectification {rect.number or rect.rectification_id}: "
                                 f"it is {rect.status}")


def assign(
    rectification: Rectification | None,
    inspection: Inspection,
    *,
    finding_id: str,
    responsible_unit: str,
    measures: str,
    deadline: date,
    number: str | None,
    known_units: Collection[str],
    today: date,
) -> list[EventPayload]:
    """Enter a finding of the inspection into the ledger (once per finding), for a responsible unit."""
    finding = inspection.findings.get(finding_id)
    if finding is None:
        raise NotFound(f"inspection {inspection.inspection_id} has no finding {finding_id}")
    if rectification is not None:
        raise DomainRuleViolated(f"finding {finding_id} is already in the ledger as "
                                 f"{rectification.number or rectification.rectification_id}")
    if responsible_unit not in known_units:
        raise InvalidInput(f"unknown responsible unit {responsible_unit!r}", field="responsible_unit")
    if not measures.strip():
        raise InvalidInput("a rectification needs the measures to take", field="measures")
    if deadline < today:
        raise InvalidInput(f"deadline {deadline} is already past", field="deadline")
    if number is not None and not re.match(LEDGER_NUMBER_PATTERN, number):
        raise InvalidInput(f"ledger number {number!r} is not like ZG-2026-0001", field="number")
    return [RectificationAssigned(
        rectification_id=rectification_id_for(finding_id), number=number, finding_id=finding_id,
        inspection_id=inspection.inspection_id, group_id=inspection.group_id,
        township_code=inspection.township_code, responsible_unit=responsible_unit, deadline=deadline,
        target_kind=inspection.target_kind, target_code=inspection.target_code,
        target_name=inspection.target_name, problem=finding.description, sealed=dict(finding.sealed),
        person_id=finding.person_id, measures=measures.strip(),
        assigned_on=today)]


def report(
    rect: Rectification, *, measures_taken: str, evidence: Collection[str], reported_on: date, today: date
) -> list[EventPayload]:
    """The responsible unit reports the problem rectified, with the measures taken and evidence."""
    _require(rect, AWAITING_UNIT, "report")
    links = _clean(evidence)
    if not links:
        raise InvalidInput("reporting a rectification needs evidence", field="evidence")
    if not measures_taken.strip():
        raise InvalidInput("say what measures were taken", field="measures_taken")
    _not_future(reported_on, today, "reported_on")
    if reported_on < rect.assigned_on:
        raise InvalidInput(f"reported on {reported_on}, before it was assigned on {rect.assigned_on}",
                           field="reported_on")
    return [RectificationReported(**rect.facts(), measures_taken=measures_taken.strip(), evidence=links,
                                  reported_on=reported_on)]


def _after_report(rect: Rectification, day: date, today: date, field: str) -> None:
    _not_future(day, today, field)
    if rect.reported_on is not None and day < rect.reported_on:
        raise InvalidInput(f"{field.replace('_', ' ')} {day} is before the report of {rect.reported_on}",
                           field=field)


def verify(
    rect: Rectification, *, verifier: str, verified_on: date, note: str, evidence: Collection[str],
    today: date,
) -> list[EventPayload]:
    """Re-check and close (复查销号) a reported rectification: a note and evidence are required."""
    _require(rect, {"reported"}, "verify")
    links = _clean(evidence)
    if not links:
        raise InvalidInput("closing a rectification needs evidence of the re-check", field="evidence")
    if not note.strip():
        raise InvalidInput("closing a rectification needs a note of what was re-checked", field="note")
    _after_report(rect, verified_on, today, "verified_on")
    return [RectificationVerified(**rect.facts(), verified_on=verified_on, verifier=verifier,
                                  note=note.strip(), evidence=links)]


def reopen(
    rect: Rectification, *, reopened_by: str, reason: str, reopened_on: date, today: date
) -> list[EventPayload]:
    """Send a reported rectification back to the unit, with the reason."""
    _require(rect, {"reported"}, "reopen")
    if not reason.strip():
        raise InvalidInput("reopening a rectification needs a reason", field="reason")
    _after_report(rect, reopened_on, today, "reopened_on")
    return [RectificationReopened(**rect.facts(), reopened_on=reopened_on, reopened_by=reopened_by,
                                  reason=reason.strip())]


def extend_deadline(rect: Rectification, *, deadline: date, reason: str, today: date) -> list[EventPayload]:
    """Move the deadline later, with a reason, while the unit still has to act."""
    _require(rect, AWAITING_UNIT, "extend the deadline of")
    if not reason.strip():
        raise InvalidInput("extending a deadline needs a reason", field="reason")
    if deadline <= rect.deadline:
        raise InvalidInput(f"the new deadline {deadline} is not later than {rect.deadline}", field="deadline")
    if deadline < today:
        raise InvalidInput(f"the new deadline {deadline} is already past", field="deadline")
    facts = {**rect.facts(), "deadline": deadline}
    return [RectificationDeadlineExtended(**facts, previous_deadline=rect.deadline, reason=reason.strip())]
