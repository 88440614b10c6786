"""HTTP routes of the yearly survey form: the version in force, one version, drafting and publishing."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from services.registry.application import commands as c
from services.registry.application import survey_forms as uc
from services.registry.application.deps import RegistryDeps
from shared.auth import CurrentPrincipal
from shared.catalogue.surveys import SurveySection
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps
from shared.http.responses import ResponseModel

router = APIRouter(tags=["survey forms"])

Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]
FormId = Annotated[str, Path(pattern=c.CODE_PATTERN_ID)]


class CodedValue(BaseModel):
    """One value of a visit's own fields (mode, respondent, lost reason) with its labels."""

    code: str
    label_zh: str
    label_en: str


class SurveyFormVersion(ResponseModel):
    """One version of a survey form: sections of coded items with their labels, types, options, skip rules.

    ``collection`` lists the values of the visit's own fields (``mode``, ``respondent``,
    ``lost_reason``), which are sent beside ``answers``, not in them.
    """

    form_id: str
    version: int
    year: int
    title_zh: str
    title_en: str
    published_on: date | None
    sections: list[SurveySection]
    collection: dict[str, list[CodedValue]]


class VersionSummary(ResponseModel):
    """A published version, without its items."""

    version: int
    year: int
    title_zh: str
    title_en: str
    published_on: date | None
    items: int


class SurveyForm(ResponseModel):
    """A form: its draft (the next version's working copy) and its published versions."""

    form_id: str
    version: int
    draft: SurveyFormVersion | None
    versions: list[VersionSummary]


@router.get("/survey-forms/current", summary="The yearly survey form in force for a year")
async def current(
    _who: CurrentPrincipal, deps: Deps, conn: ReadConnection,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year")] = None,
) -> SurveyFormVersion:
    return SurveyFormVersion.model_validate(await uc.current_version(conn, deps, year or deps.today().year))


@router.get("/survey-forms/{form_id}/versions/{version}", summary="One published version of a survey form")
async def one_version(form_id: FormId, version: Annotated[int, Path(ge=1, le=10_000)], _who: CurrentPrincipal,
                      deps: Deps, conn: ReadConnection) -> SurveyFormVersion:
    return SurveyFormVersion.model_validate(await uc.one_version(conn, deps, form_id, version))


@router.get("/survey-forms/{form_id}", summary="A survey form: its draft and versions")
async def get_form(form_id: FormId, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> SurveyForm:
    return SurveyForm.model_validate(await uc.get_form(conn, deps, form_id))


@router.put("/survey-forms/{form_id}/draft", summary="Save the next version's draft (federation admin)")
async def save_draft(form_id: FormId, body: c.SaveSurveyDraft, request: Request, who: CurrentPrincipal,
                     deps: Deps) -> SurveyForm:
    return SurveyForm.model_validate(await execute(
        request, lambda uow: uc.save_draft(uow, deps, who, form_id, body), buffered=True))


@router.post("/survey-forms/{form_id}/draft/publication", status_code=201,
             summary="Publish the draft as the next version (federation admin)")
async def publish_draft(form_id: FormId, body: c.VersionedCommand, request: Request, who: CurrentPrincipal,
                        deps: Deps) -> SurveyForm:
    return SurveyForm.model_validate(await execute(
        request, lambda uow: uc.publish_draft(uow, deps, who, form_id, body), buffered=True))
