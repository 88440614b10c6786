"""The registry's lookup rows, kept as an inline projection of its own streams.

Declared once here and written by the repository in the transaction that saves the events (see
:mod:`shared.eventstore.repository`); no use case writes these rows by hand. ``person_keys`` is not
here: a person's wrapped data key is a secret, in no event, and the use cases keep it themselves; so is
``resident_index``, the blind index of resident IDs (no longer in events, so that erasure can remove it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.registry.adapters.tables import (
    certificates,
    departments,
    org_units,
    persons,
    service_catalogue,
    staff,
)
from services.registry.domain import certificate_life
from services.registry.domain import person as person_domain
from services.registry.domain import plan as plan_domain
from services.registry.domain import service_catalogue as service_domain
from services.registry.domain import survey_form as survey_form_domain
from shared.aggregate import Kind, prefixed
from shared.catalogue.people import (
    DepartmentRegistered,
    OrgUnitEstablished,
    PersonRegistered,
    StaffDisabled,
    StaffEnrolled,
    StaffRolesChanged,
)
from shared.eventstore.repository import Change, InlineProjection
from shared.projection import Operation, Patch, Upsert
from shared.staff import directory_operations

PERSON: Kind[person_domain.Person] = Kind("person", prefixed("person"), person_domain.evolve)
CERTIFICATE: Kind[certificate_life.CertificateRecord] = Kind(
    "certificate", prefixed("certificate"), certificate_life.evolve)
"""A person's certificate: stream ``certificate-<person id>``."""
PLAN: Kind[plan_domain.Plan] = Kind("plan", lambda plan_id: plan_id, plan_domain.evolve)
"""A plan's entity id is its stream id (``plan_domain.plan_stream_id``)."""
SURVEY_FORM: Kind[survey_form_domain.SurveyForm] = Kind(
    "survey form", prefixed("surveyform"), survey_form_domain.evolve)
"""A survey form and its versions: stream ``surveyform-<form id>`` (no lookup rows: read by folding it)."""

SERVICE: Kind[service_domain.Service] = Kind("service", prefixed("service"), service_domain.evolve)
"""A catalogue entry: stream ``service-<code>``."""


def _org_unit(change: Change) -> Sequence[Operation]:
    return [Upsert(org_units, {"code": e.code}, {"name": e.name, "level": e.level, "parent_code": e.parent_code})
            for e in change.events if isinstance(e, OrgUnitEstablished)]


def _department(change: Change) -> Sequence[Operation]:
    return [Upsert(departments, {"code": e.code}, {"name": e.name, "org_unit_code": e.org_unit_code})
            for e in change.events if isinstance(e, DepartmentRegistered)]


def _staff(change: Change) -> Sequence[Operation]:
    operations: list[Operation] = []
    for e in change.events:
        match e:
            case StaffEnrolled():
                operations.append(Upsert(staff, {"staff_id": e.staff_id}, {
                    "display_name": e.display_name, "department": e.department, "roles": json.dumps(e.roles),
                    "township_code": e.township_code, "active": True}))
            case StaffRolesChanged():
                operations.append(Patch(staff, {"staff_id": e.staff_id},
                                        {"roles": json.dumps(e.roles), "township_code": e.township_code}))
            case StaffDisabled():
                operations.append(Patch(staff, {"staff_id": e.staff_id}, {"active": False}))
        # The registry's own copy of the directory every service checks tokens against (shared.staff).
        operations.extend(directory_operations(e))
    return operations


def _person(change: Change) -> Sequence[Operation]:
    state: person_domain.Person = change.state
    sealed: dict[str, str] = {}
    for event in change.history:  # later sealed values replace earlier ones
        sealed.update(getattr(event, "sealed", None) or {})
    values: dict[str, object] = {
        "version": change.version, "township_code": state.township_code, "village_code": state.village_code,
        "category": state.category, "grade": state.grade, "severe": state.severe,
        "hardship": ",".join(state.hardship), "active": state.active, "erased": state.erased,
        "sealed": "{}" if state.erased else json.dumps(sealed),
    }
    key = {"person_id": state.person_id}
    registered = next((e for e in change.events if isinstance(e, PersonRegistered)), None)
    if registered is None:
        return [Patch(persons, key, values)]
    return [
        Upsert(persons, key, {"sex": state.sex, "birth_year": state.birth_year,
                              "registered_on": registered.registered_on, **values}),
    ]


def _certificate(change: Change) -> Sequence[Operation]:
    state: certificate_life.CertificateRecord = change.state
    return [Upsert(certificates, {"person_id": state.person_id}, {
        "issued_on": state.issued_on, "valid_until": state.valid_until, "suffix": state.suffix,
        "frozen_from": state.frozen_from, "cancelled_from": state.cancelled_from,
        "cancelled_on": state.cancelled_on})]


def _service(change: Change) -> Sequence[Operation]:
    state: service_domain.Service = change.state
    return [Upsert(service_catalogue, {"code": state.code}, {
        "name_zh": state.name_zh, "name_en": state.name_en, "need": state.need, "part": state.part,
        "responsible_department": state.responsible_department, "default_days": state.default_days,
        "retired": state.retired, "version": change.version})]


LOOKUP_ROWS = InlineProjection({
    "orgunit": _org_unit, "department": _department, "staff": _staff, "person": _person,
    "certificate": _certificate, "service": _service,
})
"""Every lookup row the registry keeps of its own streams (plans have none)."""
