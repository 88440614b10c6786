"""The rectification ledger: assigned → reported → closed or reopened …, extensions, and overdue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from services.inspections.domain import rectification as ledger
from services.inspections.domain.inspection import Finding, Inspection
from services.inspections.domain.rectification import Rectification, is_overdue, ledger_number
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.supervision import (
    RectificationAssigned,
    RectificationDeadlineExtended,
    RectificationReopened,
    RectificationReported,
    RectificationVerified,
)
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

pytestmark = pytest.mark.unit

TODAY = date(2026, 5, 20)
DEADLINE = date(2026, 6, 30)
FENGMING = "511403001000"
UNITS = {"civil-affairs", "fengming-gov"}
INSPECTION = Inspection(
    "i1", "g1", "township", FENGMING, "凤鸣街道", FENGMING, "tpl-1", 2, date(2026, 5, 18), status="completed",
    findings={"f1": Finding("f1", "item", "a", None, "档案缺失3份")},
)
FACTS: dict[str, Any] = {
    "rectification_id": "rect-f1", "number": "ZG-2026-0001", "finding_id": "f1", "inspection_id": "i1",
    "group_id": "g1", "township_code": FENGMING, "responsible_unit": "fengming-gov", "deadline": DEADLINE,
}
ASSIGNED = RectificationAssigned(**FACTS, target_kind="township", target_code=FENGMING,
                                 target_name="凤鸣街道", problem="档案缺失3份", measures="补齐档案",
                                 assigned_on=TODAY)
REPORTED = RectificationReported(**FACTS, measures_taken="已补齐", evidence=["doc://1"],
                                 reported_on=date(2026, 6, 1))
REOPENED = RectificationReopened(**FACTS, reopened_on=date(2026, 6, 2), reopened_by="s-li", reason="仍缺1份")
VERIFIED = RectificationVerified(**FACTS, verified_on=date(2026, 6, 3), verifier="s-li", note="抽查无误",
                                 evidence=["photo://2"])
LATER = date(2026, 7, 1)
AWAITING_UNIT = pytest.mark.parametrize(
    "history", [(ASSIGNED,), (ASSIGNED, REPORTED, REOPENED)], ids=["assigned", "reopened"])


def given(*events: EventPayload) -> Rectification:
    state = fold(ledger.evolve, events)
    assert state is not None
    return state


def assign(rectification: Rectification | None = None, **overrides: Any) -> list[EventPayload]:
    args: dict[str, Any] = {"finding_id": "f1", "responsible_unit": "fengming-gov", "measures": " 补齐档案 ",
                            "deadline": DEADLINE, "number": "ZG-2026-0001", "known_units": UNITS,
                            "today": TODAY}
    args.update(overrides)
    return ledger.assign(rectification, INSPECTION, **args)


def report(rect: Rectification, **overrides: Any) -> list[EventPayload]:
    args: dict[str, Any] = {"measures_taken": " 已补齐 ", "evidence": ["doc://1", " "],
                            "reported_on": date(2026, 6, 1), "today": LATER}
    args.update(overrides)
    return ledger.report(rect, **args)


def verify(rect: Rectification, **overrides: Any) -> list[EventPayload]:
    args: dict[str, Any] = {"verifier": "s-li", "verified_on": date(2026, 6, 3), "note": "抽查无误",
                            "evidence": ["photo://2"], "today": LATER}
    args.update(overrides)
    return ledger.verify(rect, **args)


def reopen(rect: Rectification, **overrides: Any) -> list[EventPayload]:
    args: dict[str, Any] = {"reopened_by": "s-li", "reason": "仍缺1份", "reopened_on": date(2026, 6, 2),
                            "today": LATER}
    args.update(overrides)
    return ledger.reopen(rect, **args)


def extend(rect: Rectification, **overrides: Any) -> list[EventPayload]:
    args: dict[str, Any] = {"deadline": date(2026, 7, 31), "reason": "汛期", "today": TODAY}
    args.update(overrides)
    return ledger.extend_deadline(rect, **args)


# --- assignment --------------------------------------------------------------------------------


def test_a_finding_is_assigned_with_the_facts_reporting_needs() -> None:
    assert assign() == [ASSIGNED]
    rect = given(ASSIGNED)
    assert (rect.status, rect.responsible_unit, rect.group_id, rect.deadline) == (
        "assigned", "fengming-gov", "g1", DEADLINE)


def test_the_entry_is_named_after_its_finding_and_may_wait_for_a_number() -> None:
    [event] = assign(number=None)
    assert isinstance(event, RectificationAssigned)
    assert (event.rectification_id, event.number) == (ledger.rectification_id_for("f1"), None)
    assert ledger_number(2026, 1) == "ZG-2026-0001"


def test_a_finding_is_assigned_once() -> None:
    with pytest.raises(DomainRuleViolated, match="already in the ledger as ZG-2026-0001"):
        assign(given(ASSIGNED))


def test_only_a_finding_of_the_inspection_is_assigned() -> None:
    with pytest.raises(NotFound, match="no finding f9"):
        assign(finding_id="f9")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"responsible_unit": "police"}, "responsible_unit", id="unknown-unit"),
        pytest.param({"measures": "  "}, "measures", id="no-measures"),
        pytest.param({"deadline": date(2026, 5, 19)}, "deadline", id="past-deadline"),
        pytest.param({"number": "2026-1"}, "number", id="bad-number"),
    ],
)
def test_assignment_refuses_bad_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        assign(**overrides)
    assert refused.value.field == field


# --- report, verify, reopen --------------------------------------------------------------------


def test_the_unit_reports_with_evidence() -> None:
    assert report(given(ASSIGNED)) == [REPORTED]
    assert given(ASSIGNED, REPORTED).status == "reported"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"evidence": []}, "evidence", id="no-evidence"),
        pytest.param({"evidence": [" ", ""]}, "evidence", id="blank-evidence"),
        pytest.param({"measures_taken": ""}, "measures_taken", id="no-measures"),
        pytest.param({"reported_on": date(2026, 7, 2)}, "reported_on", id="future"),
        pytest.param({"reported_on": date(2026, 5, 19)}, "reported_on", id="before-assignment"),
    ],
)
def test_a_report_refuses_bad_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        report(given(ASSIGNED), **overrides)
    assert refused.value.field == field


def test_a_reported_entry_awaits_its_recheck() -> None:
    with pytest.raises(DomainRuleViolated, match="it is reported"):
        report(given(ASSIGNED, REPORTED))


def test_an_inspector_verifies_and_closes_with_a_note_and_evidence() -> None:
    assert verify(given(ASSIGNED, REPORTED)) == [VERIFIED]
    rect = given(ASSIGNED, REPORTED, VERIFIED)
    assert (rect.status, rect.closed_on) == ("closed", date(2026, 6, 3))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"evidence": []}, "evidence", id="no-evidence"),
        pytest.param({"note": " "}, "note", id="no-note"),
        pytest.param({"verified_on": date(2026, 5, 31)}, "verified_on", id="before-report"),
        pytest.param({"verified_on": date(2026, 7, 2)}, "verified_on", id="future"),
    ],
)
def test_closing_refuses_bad_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        verify(given(ASSIGNED, REPORTED), **overrides)
    assert refused.value.field == field


@AWAITING_UNIT
@pytest.mark.parametrize("command", [verify, reopen], ids=["verify", "reopen"])
def test_only_a_reported_entry_is_rechecked(
    history: tuple[EventPayload, ...], command: Callable[..., list[EventPayload]]
) -> None:
    with pytest.raises(DomainRuleViolated, match=r"it is (assigned|reopened)"):
        command(given(*history))


def test_an_inspector_reopens_with_a_reason() -> None:
    assert reopen(given(ASSIGNED, REPORTED)) == [REOPENED]
    rect = given(ASSIGNED, REPORTED, REOPENED)
    assert (rect.status, rect.reopen_count) == ("reopened", 1)


def test_reopening_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        reopen(given(ASSIGNED, REPORTED), reason=" ")
    assert refused.value.field == "reason"


def test_reported_reopened_reported_again_then_verified() -> None:
    history: list[EventPayload] = [ASSIGNED, REPORTED, REOPENED]
    history += report(given(*history), reported_on=date(2026, 6, 10))
    history += verify(given(*history), verified_on=date(2026, 6, 12))
    rect = given(*history)
    assert (rect.status, rect.reported_on, rect.closed_on, rect.reopen_count) == (
        "closed", date(2026, 6, 10), date(2026, 6, 12), 1)


# --- deadlines ---------------------------------------------------------------------------------


@AWAITING_UNIT
def test_a_deadline_is_extended_with_a_reason(history: tuple[EventPayload, ...]) -> None:
    events = extend(given(*history))
    assert events == [RectificationDeadlineExtended(**{**FACTS, "deadline": date(2026, 7, 31)},
                                                    previous_deadline=DEADLINE, reason="汛期")]
    assert given(*history, *events).deadline == date(2026, 7, 31)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"reason": " "}, "reason", id="no-reason"),
        pytest.param({"deadline": DEADLINE}, "deadline", id="same-date"),
        pytest.param({"deadline": date(2026, 6, 1)}, "deadline", id="earlier"),
        pytest.param({"deadline": date(2026, 7, 1), "today": date(2026, 7, 2)}, "deadline", id="past"),
    ],
)
def test_an_extension_refuses_bad_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        extend(given(ASSIGNED), **overrides)
    assert refused.value.field == field


def test_a_reported_entry_is_not_extended() -> None:
    with pytest.raises(DomainRuleViolated, match="it is reported"):
        extend(given(ASSIGNED, REPORTED))


# --- nothing moves a closed entry --------------------------------------------------------------


@pytest.mark.parametrize("command", [report, verify, reopen, extend],
                         ids=["report", "verify", "reopen", "extend"])
def test_nothing_moves_a_closed_entry(command: Callable[..., list[EventPayload]]) -> None:
    with pytest.raises(DomainRuleViolated, match="was closed on 2026-06-03"):
        command(given(ASSIGNED, REPORTED, VERIFIED))


# --- overdue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        pytest.param("assigned", date(2026, 6, 30), False, id="on-the-deadline"),
        pytest.param("assigned", date(2026, 7, 1), True, id="day-after"),
        pytest.param("reopened", date(2026, 7, 1), True, id="reopened-late"),
        pytest.param("reported", date(2026, 7, 1), False, id="awaiting-recheck"),
        pytest.param("closed", date(2026, 7, 1), False, id="closed"),
    ],
)
def test_overdue_is_a_passed_deadline_the_unit_has_not_met(status: str, today: date, overdue: bool) -> None:
    assert is_overdue(DEADLINE, status, today) is overdue


def test_an_extension_lifts_overdue() -> None:
    late = date(2026, 7, 5)
    assert given(ASSIGNED).overdue(late)
    extended = extend(given(ASSIGNED), today=late)
    assert not given(ASSIGNED, *extended).overdue(late)
