"""Use case of a visit attempt: the survey checked against its form version, the answers sealed."""

from __future__ import annotations

import json

from services.registry.application import commands as c
from services.registry.application.deps import WRITERS, RegistryDeps
from services.registry.application.keys import wrapped_key
from services.registry.application.lookup_rows import PERSON, SURVEY_FORM
from services.registry.domain import person as domain
from services.registry.domain import survey_form
from services.registry.domain.default_survey import SEED_QUESTIONS
from services.registry.domain.survey_answers import Answer
from shared.auth import Principal
from shared.catalogue.people import Sealed
from shared.errors import InvalidInput, NotFound
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


async def _form_version(uow: UnitOfWork, deps: RegistryDeps, cmd: c.RecordVisit) -> survey_form.FormVersion:
    if cmd.form_id is None:
        if cmd.answers or cmd.form_version is not None:
            raise InvalidInput("answers are given on a form: name it with form_id and form_version", field="form_id")
        return survey_form.BUILT_IN  # the old body: the seed's three questions, on the default form's version 1
    if cmd.form_version is None:
        raise InvalidInput(f"which version of survey form {cmd.form_id} the answers were given on",
                           field="form_version")
    found = await deps.repository.find(uow, SURVEY_FORM, cmd.form_id)
    form = found.state or survey_form.empty(cmd.form_id)
    try:
        return form.version(cmd.form_version)
    except NotFound as exc:  # an unknown form or version is a bad input here, not a missing page
        raise InvalidInput(exc.message, field="form_version") from None


def _answers(cmd: c.RecordVisit) -> dict[str, object]:
    """The answers, with the old body's three texts as the seed questions' answers."""
    answers: dict[str, object] = dict(cmd.answers)
    for code, text in zip(SEED_QUESTIONS, (cmd.what_they_need, cmd.what_they_can_do, cmd.what_we_can_do),
                          strict=True):
        if text:
            if code in answers and answers[code] != text:
                raise InvalidInput(f"{code} is given twice, differently (as a field and in answers)",
                                   field=f"answers.{code}")
            answers[code] = text
    return answers


async def record_visit(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: c.RecordVisit
) -> dict[str, object]:
    """Record one visit attempt (reached, or 失访 with its reason) with its answers, sealed."""
    action = "recording a home visit"
    principal.require(*WRITERS, action=action)
    person = await deps.repository.load(uow, PERSON, person_id)
    principal.require_township(person.state.township_code, action=action)
    form = await _form_version(uow, deps, cmd)
    key = await wrapped_key(uow, person_id)

    def seal(answers: dict[str, Answer]) -> Sealed:
        # One sealed field, the JSON of every answer: one token instead of thirty.
        return deps.vault.seal(key, person_id, {"answers": json.dumps(answers, ensure_ascii=False)}) if key else {}

    facts = domain.VisitFacts(visit_id=cmd.visit_id or new_id(), visited_on=cmd.visited_on,
                              visitor=principal.staff_id, mode=cmd.mode, respondent=cmd.respondent,
                              lost_reason=cmd.lost_reason)
    events = domain.record_visit(person.state, facts, form=form, answers=_answers(cmd), needs=cmd.needs,
                                 complete=cmd.form_id is not None, seal=seal, today=deps.today())
    saved = await deps.repository.save(uow, PERSON, person, events, deps.context(principal),
                                       expected_version=cmd.expected_version)
    return {"person_id": person_id, "version": saved.version}
