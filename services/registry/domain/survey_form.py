"""The yearly survey form: a draft, then published versions that never change (like inspection templates).

A form is one stream holding a working draft of its next version and every version published so
far. Each version applies from its ``year`` on, until a version of a later year supersedes it, so
an admin drafts and publishes next year's form without touching this year's answers. Version 1 of
the default form is built in (``default_survey``): the stream starts with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch

from services.registry.domain import default_survey
from services.registry.domain.vocabulary import NEEDS
from shared.catalogue import EventPayload
from shared.catalogue.surveys import (
    DEFAULT_SURVEY_FORM_ID,
    SurveyFormDraftSaved,
    SurveyFormVersionPublished,
    SurveyItem,
    SurveySection,
)
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

MAX_ITEMS = 200
YESNO_VALUES = ("yes", "no")
"""How a skip rule names a yes/no answer."""


@dataclass(frozen=True)
class FormVersion:
    """One version: the year it applies from, titles, sections (``published_on`` None: built in)."""

    form_id: str
    version: int
    year: int
    title_zh: str
    title_en: str
    sections: tuple[SurveySection, ...]
    published_on: date | None = None

    def items(self) -> list[SurveyItem]:
        """Every item, in the order asked."""
        return [item for section in self.sections for item in section.items]


@dataclass(frozen=True)
class SurveyForm:
    """A form's state: its draft (if any) and its versions, oldest first."""

    form_id: str
    draft: FormVersion | None = None
    versions: tuple[FormVersion, ...] = ()

    @property
    def next_version(self) -> int:
        """The number the next published version gets."""
        return len(self.versions) + 1

    def version(self, number: int) -> FormVersion:
        """A published version by number (404 if there is none)."""
        for published in self.versions:
            if published.version == number:
                return published
        known = ", ".join(str(v.version) for v in self.versions) or "none"
        raise NotFound(f"survey form {self.form_id} has no version {number} (published: {known})")

    def in_force(self, year: int) -> FormVersion:
        """The version that applies to ``year``: the latest of the newest year not after it.

        Years before the first version's use the first version.
        """
        if not self.versions:
            raise NotFound(f"survey form {self.form_id} has no published version")
        applicable = [v for v in self.versions if v.year <= year]
        return applicable[-1] if applicable else self.versions[0]


BUILT_IN = FormVersion(DEFAULT_SURVEY_FORM_ID, 1, default_survey.FIRST_YEAR, default_survey.TITLE_ZH,
                       default_survey.TITLE_EN, default_survey.SECTIONS)
"""Version 1 of the default form."""


def empty(form_id: str) -> SurveyForm:
    """A form before any event: the default one already has its built-in version 1."""
    return SurveyForm(form_id, versions=(BUILT_IN,) if form_id == DEFAULT_SURVEY_FORM_ID else ())


def evolve(state: SurveyForm | None, event: EventPayload) -> SurveyForm:
    """Apply one event to a form."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: SurveyForm | None) -> SurveyForm:
    raise TypeError(f"a survey form stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: SurveyFormDraftSaved, state: SurveyForm | None) -> SurveyForm:
    form = state or empty(event.form_id)
    return replace(form, draft=FormVersion(event.form_id, event.version, event.year, event.title_zh,
                                           event.title_en, tuple(event.sections)))


@_apply.register
def _(event: SurveyFormVersionPublished, state: SurveyForm | None) -> SurveyForm:
    form = state or empty(event.form_id)
    published = FormVersion(event.form_id, event.version, event.year, event.title_zh, event.title_en,
                            tuple(event.sections), event.published_on)
    return replace(form, draft=None, versions=(*form.versions, published))


def check_sections(sections: Sequence[SurveySection], *, allow_empty: bool) -> list[SurveySection]:
    """The rules about a version's items that one item alone cannot check; 422 naming the item."""
    items = [item for section in sections for item in section.items]
    if not items and not allow_empty:
        raise InvalidInput("a published survey form needs at least one item", field="sections")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"at most {MAX_ITEMS} items, not {len(items)}", field="sections")
    _unique([s.code for s in sections], "section")
    seen: dict[str, SurveyItem] = {}
    for item in items:
        field = f"sections.{item.code}"
        if item.code in seen:
            raise InvalidInput(f"item code {item.code!r} is used twice", field=field)
        _check_item(item, field)
        if item.show_if is not None:
            _check_rule(item, seen, field)
        seen[item.code] = item
    return list(sections)


def _unique(codes: list[str], what: str) -> None:
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise InvalidInput(f"{what} code(s) {', '.join(repeated)} used twice", field="sections")


def _check_item(item: SurveyItem, field: str) -> None:
    with_options = item.answer_type in ("choice", "multi")
    if with_options and len(item.options) < 2:
        raise InvalidInput(f"item {item.code}: a {item.answer_type} item needs at least two options", field=field)
    if not with_options and item.options:
        raise InvalidInput(f"item {item.code}: a {item.answer_type} item has no options", field=field)
    _unique([o.code for o in item.options], f"item {item.code}: option")
    if item.max_length is not None and item.answer_type != "text":
        raise InvalidInput(f"item {item.code}: only a text item has a max_length", field=field)
    if item.needs_code is not None:
        if item.answer_type != "yesno":
            raise InvalidInput(f"item {item.code}: only a yes/no item maps to a need (a yes records it)",
                               field=field)
        if item.needs_code not in NEEDS:
            raise InvalidInput(f"item {item.code}: unknown need code {item.needs_code}; known: {', '.join(NEEDS)}",
                               field=field)


def _check_rule(item: SurveyItem, earlier: dict[str, SurveyItem], field: str) -> None:
    assert item.show_if is not None
    target = earlier.get(item.show_if.item)
    if target is None:
        raise InvalidInput(f"item {item.code} is shown only after item {item.show_if.item}, which is not an "
                           "earlier item of this form", field=field)
    if target.answer_type not in ("choice", "multi", "yesno"):
        raise InvalidInput(f"item {item.code} depends on item {target.code}, whose {target.answer_type} answer "
                           "has no values to match", field=field)
    values = YESNO_VALUES if target.answer_type == "yesno" else tuple(o.code for o in target.options)
    unknown = [v for v in item.show_if.any_of if v not in values]
    if unknown:
        raise InvalidInput(f"item {item.code} depends on value(s) {', '.join(unknown)} that item {target.code} "
                           f"does not have (it has: {', '.join(values)})", field=field)


def _titles(title_zh: str, title_en: str) -> tuple[str, str]:
    zh, en = title_zh.strip(), title_en.strip()
    if not zh or not en:
        raise InvalidInput("a survey form needs a Chinese and an English title",
                           field="title_zh" if not zh else "title_en")
    return zh, en


def save_draft(form: SurveyForm, *, year: int, title_zh: str, title_en: str,
               sections: Sequence[SurveySection]) -> list[EventPayload]:
    """Save (or replace) the working copy of the form's next version; it may have no items yet."""
    zh, en = _titles(title_zh, title_en)
    return [SurveyFormDraftSaved(form_id=form.form_id, version=form.next_version, year=year, title_zh=zh,
                                 title_en=en, sections=check_sections(sections, allow_empty=True))]


def publish_draft(form: SurveyForm, *, today: date) -> list[EventPayload]:
    """Publish the draft as the next version; past versions and the answers given on them stay as they are."""
    draft = form.draft
    if draft is None:
        raise DomainRuleViolated(f"survey form {form.form_id} has no draft to publish")
    sections = check_sections(draft.sections, allow_empty=False)
    current = form.versions[-1] if form.versions else None
    if current is not None:
        if draft.year < current.year:
            raise InvalidInput(f"the draft applies from {draft.year}, before version {current.version} "
                               f"({current.year}): a new version applies from that year or later", field="year")
        if (draft.year, draft.title_zh, draft.title_en, draft.sections) == (
                current.year, current.title_zh, current.title_en, current.sections):
            raise DomainRuleViolated(f"survey form {form.form_id} version {current.version} is exactly this "
                                     "draft: nothing to publish")
    return [SurveyFormVersionPublished(
        form_id=form.form_id, version=form.next_version, year=draft.year, title_zh=draft.title_zh,
        title_en=draft.title_en, sections=sections, published_on=today,
        supersedes=current.version if current is not None else None)]
