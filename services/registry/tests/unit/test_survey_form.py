"""The survey form: built-in version 1, drafts, publication, the version in force, the structure rules."""

from datetime import date
from typing import Any

import pytest

from services.registry.domain import survey_form as domain
from services.registry.domain.survey_form import BUILT_IN, SurveyForm, empty, evolve
from shared.catalogue import EventPayload
from shared.catalogue.surveys import SurveyItem, SurveySection
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 20)


def item(code: str, answer_type: str = "yesno", **more: Any) -> SurveyItem:
    return SurveyItem.model_validate({"code": code, "label_zh": code, "label_en": code, "answer_type": answer_type,
                                      **more})


def section(*items: SurveyItem, code: str = "main") -> SurveySection:
    return SurveySection(code=code, label_zh="主要", label_en="Main", items=list(items))


CHOICE = item("housing", "choice", options=[{"code": "own", "label_zh": "自有", "label_en": "own"},
                                            {"code": "rented", "label_zh": "租", "label_en": "rented"}])


def then(form: SurveyForm, events: list[EventPayload]) -> SurveyForm:
    for event in events:
        form = evolve(form, event)
    return form


def draft(form: SurveyForm, year: int = 2027, *sections: SurveySection) -> SurveyForm:
    return then(form, domain.save_draft(form, year=year, title_zh="2027年调查表", title_en="Survey 2027",
                                        sections=sections or (section(CHOICE),)))


def test_the_default_form_has_its_built_in_version_1_without_any_event() -> None:
    form = empty("yearly-survey")
    assert form.versions == (BUILT_IN,) and form.in_force(2026) is BUILT_IN and form.in_force(1999) is BUILT_IN
    codes = [i.code for i in BUILT_IN.items()]
    assert len(codes) >= 30 and {"what_they_need", "what_they_can_do", "what_we_can_do"} <= set(codes)
    assert domain.check_sections(BUILT_IN.sections, allow_empty=False)
    with pytest.raises(NotFound, match="has no published version"):
        empty("another-form").in_force(2026)


def test_next_years_version_is_drafted_and_published_without_touching_this_years() -> None:
    form = draft(empty("yearly-survey"))
    assert form.draft is not None and form.draft.version == 2 and form.in_force(2027) is BUILT_IN
    (published,) = domain.publish_draft(form, today=TODAY)
    form = then(form, [published])
    assert form.draft is None and [v.version for v in form.versions] == [1, 2]
    assert form.in_force(2026) is BUILT_IN and form.version(1) is BUILT_IN
    assert (form.in_force(2027).version, form.in_force(2030).version) == (2, 2)
    assert form.in_force(2027).published_on == TODAY
    with pytest.raises(NotFound, match="has no version 3"):
        form.version(3)


def test_publication_refuses_no_draft_an_earlier_year_and_nothing_new() -> None:
    with pytest.raises(DomainRuleViolated, match="no draft"):
        domain.publish_draft(empty("yearly-survey"), today=TODAY)
    with pytest.raises(InvalidInput) as caught:
        domain.publish_draft(draft(empty("yearly-survey"), 2023), today=TODAY)
    assert caught.value.field == "year"
    form = draft(empty("yearly-survey"))
    form = draft(then(form, domain.publish_draft(form, today=TODAY)))
    with pytest.raises(DomainRuleViolated, match="nothing to publish"):
        domain.publish_draft(form, today=TODAY)
    empty_draft = then(empty("new"), domain.save_draft(empty("new"), year=2027, title_zh="新", title_en="new",
                                                       sections=[]))
    with pytest.raises(InvalidInput, match="at least one item"):
        domain.publish_draft(empty_draft, today=TODAY)


@pytest.mark.parametrize(("items", "says"), [
    pytest.param([item("a"), item("a")], "used twice", id="code-twice"),
    pytest.param([item("a", "choice", options=[{"code": "x", "label_zh": "x", "label_en": "x"}])],
                 "at least two options", id="one-option"),
    pytest.param([item("a", "text", options=CHOICE.options)], "has no options", id="options-on-text"),
    pytest.param([item("a", "number", max_length=5)], "only a text item", id="max-length-on-number"),
    pytest.param([item("a", "choice", options=CHOICE.options, needs_code="medical")], "only a yes/no item",
                 id="need-on-choice"),
    pytest.param([item("a", needs_code="wishes")], "unknown need code", id="unknown-need"),
    pytest.param([item("b", show_if={"item": "a", "any_of": ["yes"]}), item("a")], "not an earlier item",
                 id="rule-on-later-item"),
    pytest.param([item("a", "text"), item("b", show_if={"item": "a", "any_of": ["x"]})], "no values to match",
                 id="rule-on-text"),
    pytest.param([CHOICE, item("b", show_if={"item": "housing", "any_of": ["castle"]})], "castle",
                 id="rule-on-unknown-option"),
    pytest.param([item("a"), item("b", show_if={"item": "a", "any_of": ["true"]})], "(it has: yes, no)",
                 id="yesno-rule-values"),
])
def test_a_draft_whose_items_break_a_rule_is_refused_naming_the_item(items: list[SurveyItem], says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        domain.save_draft(empty("f"), year=2027, title_zh="表", title_en="form", sections=[section(*items)])
    assert says in caught.value.message and (caught.value.field or "").startswith("sections")
