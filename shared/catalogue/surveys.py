"""Events of the yearly survey form (年度残疾人基本状况和需求调查表) and its vocabulary.

Published by the registry. A form is one stream (``surveyform-<form id>``) holding a working draft
of its next version and every version published so far; a published version never changes, so the
answers of a visit can always be read against the version they were given on. Version 1 of the
default form is built into the registry (no event): every installation has it without an admin.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.catalogue.base import EventPayload, event

DEFAULT_SURVEY_FORM_ID = "yearly-survey"
"""The form of the yearly survey; its version 1 is built in (the registry's ``default_survey``)."""

AnswerType = Literal["choice", "multi", "yesno", "number", "date", "text"]
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MAX_TEXT = 2000
"""The longest free-text answer (characters); an item may set a shorter ``max_length``."""

VisitOutcome = Literal["reached", "lost"]
Respondent = Literal["self", "family_member", "other"]
LostReason = Literal["working_away", "moved", "no_contact", "not_found", "refused", "in_institution",
                     "deceased", "other"]

RESPONDENTS: dict[str, tuple[str, str]] = {
    "self": ("本人", "the person themselves"),
    "family_member": ("家庭成员", "a family member"),
    "other": ("其他人（监护人、邻居等）", "someone else (guardian, neighbour …)"),
}
LOST_REASONS: dict[str, tuple[str, str]] = {
    "working_away": ("外出务工或长期外出", "working or staying away"),
    "moved": ("已搬离，去向不明", "moved, whereabouts unknown"),
    "no_contact": ("联系不上（电话无人接听、停机）", "no contact (phone unanswered or cut off)"),
    "not_found": ("查无此人或地址不符", "not found at the address"),
    "refused": ("拒绝调查", "refused the survey"),
    "in_institution": ("住院或在机构中", "in hospital or an institution"),
    "deceased": ("已去世（待核实注销）", "deceased (deregistration to be checked)"),
    "other": ("其他", "other"),
}
"""Why a visit was lost to follow-up (失访): codes, Chinese and English labels."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class SurveyOption(_Frozen):
    """One answer an item of type choice or multi offers."""

    code: str = Field(pattern=CODE_PATTERN)
    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)


class SkipRule(_Frozen):
    """Show an item only if an earlier item's answer is one of ``any_of`` (yes/no answers: ``yes``, ``no``)."""

    item: str = Field(pattern=CODE_PATTERN)
    any_of: list[str] = Field(min_length=1, max_length=50)


class SurveyItem(_Frozen):
    """One question: its code, labels, answer type, options, whether required, skip rule, need it maps to."""

    code: str = Field(pattern=CODE_PATTERN)
    label_zh: str = Field(min_length=1, max_length=500)
    label_en: str = Field(min_length=1, max_length=500)
    answer_type: AnswerType
    options: list[SurveyOption] = Field(default_factory=list, max_length=50)
    required: bool = False
    max_length: int | None = Field(default=None, ge=1, le=MAX_TEXT)
    show_if: SkipRule | None = None
    needs_code: str | None = Field(default=None, max_length=50,
                                   description="For a yes/no item of services still needed: the need a yes records")


class SurveySection(_Frozen):
    """A titled group of items."""

    code: str = Field(pattern=CODE_PATTERN)
    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    items: list[SurveyItem] = Field(max_length=100)


@event("survey_form.draft_saved", stream_type="surveyform")
class SurveyFormDraftSaved(EventPayload):
    """The working copy of a survey form's next version saved (replacing any earlier draft); not yet in use."""

    form_id: str
    version: int = Field(ge=1)
    year: int = Field(description="The first year the version applies to")
    title_zh: str
    title_en: str
    sections: list[SurveySection]


@event("survey_form.version_published", stream_type="surveyform")
class SurveyFormVersionPublished(EventPayload):
    """A survey form version published: in force from ``year`` on, immutable, with every section and item.

    A later version (usually next year's) supersedes it from its own year; visits recorded with this
    one keep referring to it (``visit.recorded`` carries ``form_id`` and ``form_version``).
    """

    form_id: str
    version: int = Field(ge=1)
    year: int
    title_zh: str
    title_en: str
    sections: list[SurveySection] = Field(min_length=1)
    published_on: date
    supersedes: int | None = None
