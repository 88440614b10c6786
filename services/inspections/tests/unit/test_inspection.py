"""Inspections: scheduling, the visit's results and focus checks, findings, completion and its score."""

from __future__ import annotations

from datetime import date

import pytest

from services.inspections.domain import inspection as inspections
from services.inspections.domain.group import Group
from services.inspections.domain.inspection import Inspection
from services.inspections.domain.templates import KnownTemplate, require_template
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.supervision import (
    FindingRecorded,
    FocusCheckRecorded,
    InspectionCancelled,
    InspectionCompleted,
    InspectionScheduled,
    InspectionStarted,
    ItemChecked,
    ItemResult,
)
from shared.catalogue.worklists import TemplateItem
from shared.errors import DomainRuleViolated, InvalidInput

pytestmark = pytest.mark.unit

TODAY = date(2026, 5, 20)
FENGMING, QINGLONG = "511403001000", "511403003000"
GROUP = Group("g1", "第一督导组", "s-li", frozenset({"s-li", "s-wang"}), frozenset({FENGMING}),
              frozenset({"health"}))
TEMPLATE = KnownTemplate("tpl-1", 2, (
    TemplateItem(item_id="a", text="档案齐全", guidance="抽查10份", weight=3),
    TemplateItem(item_id="b", text="入户调研", guidance="查看调研表", weight=2, evidence_required=True),
    TemplateItem(item_id="c", text="一人一策", guidance="", weight=5),
))
FACTS = {"inspection_id": "i1", "group_id": "g1", "target_kind": "township", "target_code": FENGMING,
         "township_code": FENGMING}
SCHEDULED = InspectionScheduled(**FACTS, target_name="凤鸣街道", template_id="tpl-1", template_version=2,
                                scheduled_on=date(2026, 5, 18))
STARTED = InspectionStarted(**FACTS, started_on=date(2026, 5, 19))


def checked(
    item_id: str, result: ItemResult, note: str = "", evidence: list[str] | None = None
) -> ItemChecked:
    return ItemChecked(**FACTS, template_id="tpl-1", template_version=2, item_id=item_id, result=result,
                       note=note, evidence=evidence or [])


def focus(person_id: str, *, visited: bool = True) -> FocusCheckRecorded:
    return FocusCheckRecorded(**FACTS, person_id=person_id, archive_complete=True, visited_this_year=visited,
                              has_plan=True)


def seal(person_id: str, texts: dict[str, str]) -> dict[str, str]:
    """Stands in for the person's key: what the domain hands it is what the event carries."""
    return {name: f"sealed({person_id}: {text})" for name, text in texts.items()}


def finding(finding_id: str, *, item_id: str | None = None, person_id: str | None = None) -> FindingRecorded:
    if person_id is not None:  # about a person: sealed
        return FindingRecorded(**FACTS, finding_id=finding_id, source="focus_check", person_id=person_id,
                               sealed={"description": f"sealed({person_id}: problem)"})
    return FindingRecorded(**FACTS, finding_id=finding_id, source="item", item_id=item_id, description="problem")


ALL_CHECKED = (checked("a", "pass"), checked("b", "fail", "no forms"), checked("c", "not_applicable"))
COMPLETED = InspectionCompleted(
    **FACTS, target_name="凤鸣街道", template_id="tpl-1", template_version=2, completed_on=TODAY, score=60.0,
    items_passed=1, items_failed=1, items_not_applicable=1, focus_checks=0, focus_checks_with_issues=0,
    findings=0, item_results={"a": "pass", "b": "fail", "c": "not_applicable"})


def given(*events: EventPayload) -> Inspection:
    state = fold(inspections.evolve, events)
    assert state is not None
    return state


def schedule(**overrides: object) -> list[EventPayload]:
    args: dict[str, object] = {"inspection_id": "i1", "target_kind": "township", "target_code": FENGMING,
                               "target_name": " 凤鸣街道 ", "township_code": None,
                               "scheduled_on": date(2026, 5, 18)}
    args.update(overrides)
    return inspections.schedule(None, GROUP, TEMPLATE, **args)  # type: ignore[arg-type]


# --- scheduling --------------------------------------------------------------------------------


def test_a_township_is_scheduled_as_its_own_township() -> None:
    assert schedule() == [SCHEDULED]
    assert given(SCHEDULED).status == "scheduled"


def test_a_lead_unit_the_group_covers_can_be_scheduled() -> None:
    [event] = schedule(target_kind="lead_unit", target_code="health", target_name="区卫健局")
    assert isinstance(event, InspectionScheduled)
    assert (event.target_kind, event.target_code, event.township_code) == ("lead_unit", "health", None)


def test_a_demonstration_site_lies_in_a_covered_township() -> None:
    [event] = schedule(target_kind="demonstration_site", target_code="site-7", target_name="示范点7",
                       township_code=FENGMING)
    assert isinstance(event, InspectionScheduled) and event.township_code == FENGMING


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"target_code": QINGLONG}, id="township-not-covered"),
        pytest.param({"target_kind": "lead_unit", "target_code": "civil-affairs"}, id="unit-not-covered"),
        pytest.param({"target_kind": "demonstration_site", "target_code": "s", "township_code": QINGLONG},
                     id="site-outside-coverage"),
    ],
)
def test_a_group_inspects_only_what_it_covers(overrides: dict[str, object]) -> None:
    with pytest.raises(DomainRuleViolated, match="does not cover"):
        schedule(**overrides)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"target_name": " "}, "target_name", id="no-name"),
        pytest.param({"township_code": QINGLONG}, "township_code", id="township-mismatch"),
        pytest.param({"target_kind": "demonstration_site", "target_code": "s"}, "township_code",
                     id="site-without-township"),
    ],
)
def test_scheduling_refuses_bad_input(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        schedule(**overrides)
    assert refused.value.field == field


def test_a_template_without_items_cannot_be_used() -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.schedule(None, GROUP, KnownTemplate("empty", 1, ()), inspection_id="i1",
                             target_kind="township", target_code=FENGMING, target_name="凤鸣",
                             township_code=None, scheduled_on=TODAY)
    assert refused.value.field == "template_id"


def test_an_inspection_is_scheduled_once() -> None:
    with pytest.raises(DomainRuleViolated, match="already exists"):
        inspections.schedule(given(SCHEDULED), GROUP, TEMPLATE, inspection_id="i1", target_kind="township",
                             target_code=FENGMING, target_name="凤鸣", township_code=None, scheduled_on=TODAY)


# --- starting and cancelling -------------------------------------------------------------------


def test_a_scheduled_inspection_starts() -> None:
    assert inspections.start(given(SCHEDULED), started_on=date(2026, 5, 19), today=TODAY) == [STARTED]
    assert given(SCHEDULED, STARTED).status == "started"


@pytest.mark.parametrize("history", [(SCHEDULED, STARTED), (SCHEDULED, STARTED, *ALL_CHECKED, COMPLETED)],
                         ids=["started", "completed"])
def test_only_a_scheduled_inspection_starts(history: tuple[EventPayload, ...]) -> None:
    with pytest.raises(DomainRuleViolated, match="cannot start"):
        inspections.start(given(*history), started_on=TODAY, today=TODAY)


def test_an_inspection_cannot_start_in_the_future() -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.start(given(SCHEDULED), started_on=date(2026, 5, 21), today=TODAY)
    assert refused.value.field == "started_on"


@pytest.mark.parametrize("history", [(SCHEDULED,), (SCHEDULED, STARTED)], ids=["scheduled", "started"])
def test_an_inspection_not_completed_can_be_cancelled(history: tuple[EventPayload, ...]) -> None:
    events = inspections.cancel(given(*history), reason=" 防汛 ")
    assert events == [InspectionCancelled(**FACTS, reason="防汛")]
    assert given(*history, *events).status == "cancelled"


def test_a_completed_inspection_cannot_be_cancelled() -> None:
    with pytest.raises(DomainRuleViolated, match="already completed"):
        inspections.cancel(given(SCHEDULED, STARTED, *ALL_CHECKED, COMPLETED), reason="late")


def test_cancelling_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.cancel(given(SCHEDULED), reason=" ")
    assert refused.value.field == "reason"


# --- item results ------------------------------------------------------------------------------


def test_an_item_result_is_recorded_while_under_way() -> None:
    events = inspections.record_item(given(SCHEDULED, STARTED), TEMPLATE, item_id="b", result="pass",
                                     note=" ok ", evidence=[" photo://1 ", ""])
    assert events == [checked("b", "pass", "ok", ["photo://1"])]


def test_a_later_result_replaces_an_earlier_one() -> None:
    state = given(SCHEDULED, STARTED, checked("a", "fail", "missing"), checked("a", "pass"))
    assert state.results["a"].result == "pass"


@pytest.mark.parametrize(
    ("history", "why"),
    [
        pytest.param((SCHEDULED,), "has not started", id="scheduled"),
        pytest.param((SCHEDULED, STARTED, *ALL_CHECKED, COMPLETED), "was completed", id="completed"),
        pytest.param((SCHEDULED, InspectionCancelled(**FACTS, reason="rain")), "was cancelled",
                     id="cancelled"),
    ],
)
def test_results_are_refused_unless_under_way(history: tuple[EventPayload, ...], why: str) -> None:
    with pytest.raises(DomainRuleViolated, match=why):
        inspections.record_item(given(*history), TEMPLATE, item_id="a", result="pass", note="", evidence=[])
    with pytest.raises(DomainRuleViolated, match=why):
        inspections.record_focus_check(given(*history), person_id="p1", archive_complete=True,
                                       visited_this_year=True, has_plan=True, note="", focus_persons={"p1"}, seal=seal)


def test_an_item_must_belong_to_the_template_version() -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.record_item(given(SCHEDULED, STARTED), TEMPLATE, item_id="z", result="pass", note="",
                                evidence=[])
    assert refused.value.field == "item_id"


def test_the_template_must_be_the_inspections_version() -> None:
    other = KnownTemplate("tpl-1", 3, TEMPLATE.items)
    with pytest.raises(DomainRuleViolated, match="uses template tpl-1 v2, not tpl-1 v3"):
        inspections.record_item(given(SCHEDULED, STARTED), other, item_id="a", result="pass", note="",
                                evidence=[])


def test_a_pass_on_an_item_requiring_evidence_needs_evidence() -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.record_item(given(SCHEDULED, STARTED), TEMPLATE, item_id="b", result="pass", note="",
                                evidence=["  "])
    assert refused.value.field == "evidence"


def test_a_fail_on_an_item_requiring_evidence_needs_only_a_note() -> None:
    state = given(SCHEDULED, STARTED)
    assert inspections.record_item(state, TEMPLATE, item_id="b", result="fail", note="no forms", evidence=[])
    with pytest.raises(InvalidInput) as refused:
        inspections.record_item(state, TEMPLATE, item_id="b", result="fail", note=" ", evidence=[])
    assert refused.value.field == "note"


def test_an_item_with_a_finding_stays_failed() -> None:
    state = given(SCHEDULED, STARTED, checked("a", "fail", "gaps"), finding("f1", item_id="a"))
    with pytest.raises(DomainRuleViolated, match="f1"):
        inspections.record_item(state, TEMPLATE, item_id="a", result="pass", note="", evidence=[])
    assert inspections.record_item(state, TEMPLATE, item_id="a", result="fail", note="worse", evidence=[])


# --- focus checks ------------------------------------------------------------------------------


def test_a_focus_check_is_recorded_for_a_focus_person() -> None:
    events = inspections.record_focus_check(given(SCHEDULED, STARTED), person_id="p1", archive_complete=True,
                                            visited_this_year=False, has_plan=True, note="",
                                            focus_persons={"p1", "p2"}, seal=seal)
    assert events == [focus("p1", visited=False)]
    assert given(SCHEDULED, STARTED, *events).focus_checks["p1"].has_issue


def test_a_focus_check_note_is_sealed_with_the_person_s_key_and_an_empty_one_needs_none() -> None:
    def no_key(person_id: str, texts: dict[str, str]) -> dict[str, str]:
        raise AssertionError("an empty note needs no key")
    state = given(SCHEDULED, STARTED)
    [noted] = inspections.record_focus_check(state, person_id="p1", archive_complete=True, visited_this_year=True,
                                             has_plan=True, note=" 张三的档案缺两页 ", focus_persons={"p1"}, seal=seal)
    assert isinstance(noted, FocusCheckRecorded)
    assert (noted.note, noted.sealed) == ("", {"note": "sealed(p1: 张三的档案缺两页)"})
    assert inspections.record_focus_check(state, person_id="p1", archive_complete=True, visited_this_year=True,
                                          has_plan=True, note=" ", focus_persons={"p1"}, seal=no_key)


def test_a_focus_check_is_only_for_severe_or_hardship_persons_of_the_target() -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.record_focus_check(given(SCHEDULED, STARTED), person_id="p9", archive_complete=True,
                                       visited_this_year=True, has_plan=True, note="", focus_persons={"p1"}, seal=seal)
    assert refused.value.field == "person_id"


def test_a_focus_check_with_a_finding_cannot_become_all_yes() -> None:
    state = given(SCHEDULED, STARTED, focus("p1", visited=False), finding("f1", person_id="p1"))
    with pytest.raises(DomainRuleViolated, match="f1"):
        inspections.record_focus_check(state, person_id="p1", archive_complete=True, visited_this_year=True,
                                       has_plan=True, note="", focus_persons={"p1"}, seal=seal)


# --- findings ----------------------------------------------------------------------------------


def test_a_failed_item_raises_a_finding() -> None:
    state = given(SCHEDULED, STARTED, checked("a", "fail", "gaps"))
    events = inspections.raise_finding(state, finding_id="f1", description=" problem ", item_id="a", seal=seal)
    assert events == [finding("f1", item_id="a")]
    assert given(SCHEDULED, STARTED, checked("a", "fail", "gaps"), *events).findings["f1"].item_id == "a"


def test_a_focus_check_with_a_no_raises_a_finding() -> None:
    state = given(SCHEDULED, STARTED, focus("p1", visited=False))
    assert inspections.raise_finding(state, finding_id="f1", description="problem", person_id="p1", seal=seal) == [
        finding("f1", person_id="p1")]


def test_findings_can_be_raised_after_completion() -> None:
    state = given(SCHEDULED, STARTED, *ALL_CHECKED, COMPLETED)
    assert inspections.raise_finding(state, finding_id="f1", description="problem", item_id="b", seal=seal)


@pytest.mark.parametrize(
    ("history", "source", "message"),
    [
        pytest.param((checked("a", "pass"),), {"item_id": "a"}, "a is pass", id="passed-item"),
        pytest.param((checked("a", "not_applicable"),), {"item_id": "a"}, "is not_applicable", id="na-item"),
        pytest.param((), {"item_id": "a"}, "has no result", id="unchecked-item"),
        pytest.param((focus("p1"),), {"person_id": "p1"}, "all \"yes\"", id="all-yes-focus"),
        pytest.param((), {"person_id": "p1"}, "was not checked", id="unchecked-person"),
        pytest.param((checked("a", "fail", "x"), finding("f1", item_id="a")), {"item_id": "a"},
                     "already recorded", id="duplicate-id"),
    ],
)
def test_a_finding_needs_a_failure_to_come_from(
    history: tuple[EventPayload, ...], source: dict[str, str], message: str
) -> None:
    with pytest.raises(DomainRuleViolated, match=message):
        inspections.raise_finding(given(SCHEDULED, STARTED, *history), finding_id="f1", description="x",
                                  seal=seal, **source)


@pytest.mark.parametrize(
    ("source", "description", "field"),
    [
        pytest.param({}, "x", "item_id", id="no-source"),
        pytest.param({"item_id": "a", "person_id": "p1"}, "x", "item_id", id="two-sources"),
        pytest.param({"item_id": "a"}, "  ", "description", id="no-description"),
    ],
)
def test_a_finding_refuses_bad_input(source: dict[str, str], description: str, field: str) -> None:
    state = given(SCHEDULED, STARTED, checked("a", "fail", "x"), focus("p1", visited=False))
    with pytest.raises(InvalidInput) as refused:
        inspections.raise_finding(state, finding_id="f1", description=description,
                                  seal=seal, **source)
    assert refused.value.field == field


@pytest.mark.parametrize("history", [(SCHEDULED,), (SCHEDULED, InspectionCancelled(**FACTS, reason="rain"))],
                         ids=["scheduled", "cancelled"])
def test_no_findings_before_the_visit_or_once_cancelled(history: tuple[EventPayload, ...]) -> None:
    with pytest.raises(DomainRuleViolated, match="no findings"):
        inspections.raise_finding(given(*history), finding_id="f1", description="x", item_id="a", seal=seal)


# --- completion and score ----------------------------------------------------------------------


def test_completion_scores_the_applicable_weights_and_counts() -> None:
    state = given(SCHEDULED, STARTED, *ALL_CHECKED, focus("p1", visited=False), focus("p2"),
                  finding("f1", item_id="b"))
    [event] = inspections.complete(state, TEMPLATE, completed_on=TODAY, today=TODAY)
    counted = {"focus_checks": 2, "focus_checks_with_issues": 1, "findings": 1}
    assert event == COMPLETED.model_copy(update=counted)
    done = given(SCHEDULED, STARTED, *ALL_CHECKED, event)
    assert (done.status, done.score, done.completed_on) == ("completed", 60.0, TODAY)


@pytest.mark.parametrize(
    ("results", "score"),
    [
        pytest.param({"a": "pass", "b": "pass", "c": "pass"}, 100.0, id="all-pass"),
        pytest.param({"a": "fail", "b": "fail", "c": "fail"}, 0.0, id="all-fail"),
        pytest.param({"a": "pass", "b": "fail", "c": "fail"}, 30.0, id="weighted"),
        pytest.param({"a": "fail", "b": "pass", "c": "not_applicable"}, 40.0, id="na-left-out"),
        pytest.param({"a": "pass", "b": "pass", "c": "fail"}, 50.0, id="half"),
        pytest.param(dict.fromkeys("abc", "not_applicable"), None, id="all-na"),
    ],
)
def test_the_score_is_the_passed_share_of_applicable_weight(
    results: dict[str, str], score: float | None
) -> None:
    assert TEMPLATE.score(results) == score


def test_the_score_rounds_to_one_decimal() -> None:
    thirds = KnownTemplate("t", 1, tuple(TemplateItem(item_id=i, text=i) for i in "xyz"))
    assert thirds.score({"x": "pass", "y": "fail", "z": "fail"}) == 33.3


def test_completion_needs_every_item_to_have_a_result() -> None:
    with pytest.raises(DomainRuleViolated, match="without a result: b, c"):
        inspections.complete(given(SCHEDULED, STARTED, checked("a", "pass")), TEMPLATE, completed_on=TODAY,
                             today=TODAY)


@pytest.mark.parametrize("completed_on", [date(2026, 5, 21), date(2026, 5, 18)],
                         ids=["future", "before-start"])
def test_completion_date_is_between_start_and_today(completed_on: date) -> None:
    with pytest.raises(InvalidInput) as refused:
        inspections.complete(given(SCHEDULED, STARTED, *ALL_CHECKED), TEMPLATE, completed_on=completed_on,
                             today=TODAY)
    assert refused.value.field == "completed_on"


@pytest.mark.parametrize(
    ("history", "why"),
    [pytest.param((SCHEDULED,), "has not started", id="scheduled"),
     pytest.param((SCHEDULED, STARTED, *ALL_CHECKED, COMPLETED), "was completed", id="twice")],
)
def test_only_an_inspection_under_way_completes(history: tuple[EventPayload, ...], why: str) -> None:
    with pytest.raises(DomainRuleViolated, match=why):
        inspections.complete(given(*history), TEMPLATE, completed_on=TODAY, today=TODAY)


# --- templates ---------------------------------------------------------------------------------


def test_a_known_template_is_found_and_an_unknown_one_refused_with_a_reason() -> None:
    known = {("tpl-1", 2): TEMPLATE}
    assert require_template(known, "tpl-1", 2) is TEMPLATE
    with pytest.raises(InvalidInput) as refused:
        require_template(known, "tpl-1", 5)
    assert refused.value.field == "template_version"
    with pytest.raises(InvalidInput) as refused:
        require_template(known, "tpl-9", 1)
    assert refused.value.field == "template_id"


def test_a_template_cannot_repeat_an_item() -> None:
    with pytest.raises(ValueError, match="repeats item"):
        KnownTemplate("t", 1, (TemplateItem(item_id="x", text="x"), TemplateItem(item_id="x", text="again")))
