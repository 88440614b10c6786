"""Use cases on the yearly survey form: the version in force, one version, drafting and publishing.

Read by folding the form's stream (a handful of events a year), so no lookup rows. The default form
exists without any event: its version 1 is built in (``domain/default_survey.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from services.registry.application.lookup_rows import SURVEY_FORM
from services.registry.domain import survey_form as domain
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.catalogue.surveys import DEFAULT_SURVEY_FORM_ID, LOST_REASONS, RESPONDENTS
from shared.errors import NotFound
from shared.eventstore.repository import Reader
from shared.eventstore.unit_of_work import UnitOfWork

MODES = {"home": ("入户", "home visit"), "face_to_face": ("见面", "face to face"), "phone": ("电话", "phone"),
         "lost_to_follow_up": ("失访", "lost to follow-up")}


async def load_form(reader: Reader, deps: RegistryDeps, form_id: str) -> tuple[domain.SurveyForm, int]:
    """The form (the default one has its built-in version 1 before any event) and its stream version."""
    found = await deps.repository.find(reader, SURVEY_FORM, form_id)
    return found.state or domain.empty(form_id), found.stream.version


def _options(vocabulary: dict[str, tuple[str, str]]) -> list[dict[str, str]]:
    return [{"code": code, "label_zh": zh, "label_en": en} for code, (zh, en) in vocabulary.items()]


COLLECTION = {"mode": _options(MODES), "respondent": _options(RESPONDENTS), "lost_reason": _options(LOST_REASONS)}
"""The fields of a visit that are not survey items: how it was made, who answered, why it was lost."""


def version_json(version: domain.FormVersion) -> dict[str, Any]:
    """One version as the agreed JSON (plus ``published_on`` and the ``collection`` vocabularies)."""
    return {
        "form_id": version.form_id, "version": version.version, "year": version.year,
        "title_zh": version.title_zh, "title_en": version.title_en, "published_on": version.published_on,
        "sections": [section.model_dump() for section in version.sections], "collection": COLLECTION,
    }


def form_json(form: domain.SurveyForm, stream_version: int) -> dict[str, Any]:
    """A form: its draft in full and a summary of every version."""
    return {
        "form_id": form.form_id, "version": stream_version,
        "draft": version_json(form.draft) if form.draft else None,
        "versions": [{"version": v.version, "year": v.year, "title_zh": v.title_zh, "title_en": v.title_en,
                      "published_on": v.published_on, "items": len(v.items())} for v in form.versions],
    }


async def current_version(reader: Reader, deps: RegistryDeps, year: int) -> dict[str, Any]:
    """The default form's version in force for ``year``."""
    form, _ = await load_form(reader, deps, DEFAULT_SURVEY_FORM_ID)
    return version_json(form.in_force(year))


async def one_version(reader: Reader, deps: RegistryDeps, form_id: str, version: int) -> dict[str, Any]:
    """One published version of a form (404 if there is none)."""
    form, _ = await load_form(reader, deps, form_id)
    return version_json(form.version(version))


async def get_form(reader: Reader, deps: RegistryDeps, form_id: str) -> dict[str, Any]:
    """A form with its draft and versions; 404 for a form that has neither."""
    form, stream_version = await load_form(reader, deps, form_id)
    if not form.versions and form.draft is None:
        raise NotFound(f"no survey form {form_id}")
    return form_json(form, stream_version)


async def _change(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, form_id: str,
                  expected_version: int | None, action: str,
                  decide: Callable[[domain.SurveyForm], list[EventPayload]]) -> dict[str, Any]:
    principal.require(Role.FEDERATION_ADMIN, action=action)
    found = await deps.repository.find(uow, SURVEY_FORM, form_id)
    found.stream.check_version(expected_version)
    events = decide(found.state or domain.empty(form_id))
    saved = await deps.repository.save(uow, SURVEY_FORM, found, events, deps.context(principal),
                                       expected_version=expected_version)
    return form_json(saved.state, saved.version)


async def save_draft(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, form_id: str,
                     cmd: c.SaveSurveyDraft) -> dict[str, Any]:
    """Save (or replace) the working copy of the form's next version (federation admin)."""
    return await _change(uow, deps, principal, form_id, cmd.expected_version, "drafting a survey form",
                         lambda form: domain.save_draft(form, year=cmd.year, title_zh=cmd.title_zh,
                                                        title_en=cmd.title_en, sections=cmd.sections))


async def publish_draft(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, form_id: str,
                        cmd: c.VersionedCommand) -> dict[str, Any]:
    """Publish the draft as the next version (federation admin); earlier versions stay as they are."""
    return await _change(uow, deps, principal, form_id, cmd.expected_version, "publishing a survey form",
                         lambda form: domain.publish_draft(form, today=deps.today()))
