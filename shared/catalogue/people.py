"""Events of the register: org units, departments, staff, persons, home visits, personal plans.

Published by the registry service. Personal information (certificate number, name, address,
free-text answers) only ever appears *sealed*: encrypted with the person's own data key, so
that destroying that key erases it while the log stays intact. Everything in clear is a
non-identifying fact that reporting and inspections need.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from shared.catalogue.base import EventPayload, event, upcaster
from shared.catalogue.surveys import DEFAULT_SURVEY_FORM_ID, VisitOutcome

OrgLevel = Literal["district", "township", "village"]
VisitMode = Literal["home", "face_to_face", "phone", "lost_to_follow_up"]
DeregistrationReason = Literal["died", "moved_away", "certificate_revoked"]
PlanKind = Literal["protection", "income"]

Sealed = dict[str, str]


@event("orgunit.established", stream_type="orgunit")
class OrgUnitEstablished(EventPayload):
    """An administrative division (district, township or village) entered into the register."""

    code: str = Field(pattern=r"^\d{12}$")
    name: str
    level: OrgLevel
    parent_code: str | None = None


@event("department.registered", stream_type="department")
class DepartmentRegistered(EventPayload):
    """A unit that owns tasks and plan items (the federation, civil affairs, a township government …)."""

    code: str
    name: str
    org_unit_code: str | None = None


@event("staff.enrolled", stream_type="staff")
class StaffEnrolled(EventPayload):
    """A member of staff given roles in a department, optionally limited to one township."""

    staff_id: str
    display_name: str
    department: str
    roles: list[str]
    township_code: str | None = None


@event("staff.roles_changed", stream_type="staff")
class StaffRolesChanged(EventPayload):
    """A member of staff's roles or township scope changed."""

    staff_id: str
    roles: list[str]
    township_code: str | None = None


@event("staff.disabled", stream_type="staff")
class StaffDisabled(EventPayload):
    """A member of staff may no longer act: every service refuses their tokens from now on."""

    staff_id: str
    reason: str = ""


@event("staff.contact_set", stream_type="staff")
class StaffContactSet(EventPayload):
    """Where a member of staff is sent reminders of work falling due: replaces both addresses.

    ``email`` is a work e-mail address, ``webhook_recipient`` the id an SMS or WeChat gateway
    knows them by; ``None`` removes that channel. These are the staff member's *work* contact
    details, in clear (reporting must read them to send, and holds no master key); they are
    personal data all the same, so no service logs them (docs/reminders.md).
    """

    staff_id: str
    email: str | None = None
    webhook_recipient: str | None = None


@event("person.registered", stream_type="person", version=3)
class PersonRegistered(EventPayload):
    """A person with a disability certificate entered into the register.

    Schema v2 added ``hardship`` as a list of flags; v1 had a single ``in_hardship`` boolean
    (upcast to ``["unspecified"]`` or ``[]``). Schema v3 dropped ``resident_index``, the keyed hash
    of the resident ID: with the master key (kept for everyone else) and the birth year, sex and
    area in clear beside it, it gave the ID back after an erasure. Duplicate detection keeps it in
    the registry's ``resident_index`` table, which erasure deletes; the upcaster drops it from
    older events.
    """

    person_id: str
    sealed: Sealed
    village_code: str
    township_code: str
    category: int = Field(ge=1, le=7)
    grade: int = Field(ge=1, le=4)
    severe: bool
    hardship: list[str] = Field(default_factory=list)
    sex: Literal["male", "female"]
    birth_year: int
    registered_on: date


@upcaster("person.registered", from_version=1)
def _person_registered_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    in_hardship = data.pop("in_hardship", False)
    data["hardship"] = ["unspecified"] if in_hardship else []
    return data


@upcaster("person.registered", from_version=2)
def _person_registered_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return _without_resident_index(data)


def _without_resident_index(data: dict[str, Any]) -> dict[str, Any]:
    # Readers never see the blind index again, even of events written before it left the payload.
    return {k: v for k, v in data.items() if k != "resident_index"}


@event("person.corrected", stream_type="person")
class PersonCorrected(EventPayload):
    """Personal details (name, address) corrected; the new values are sealed."""

    person_id: str
    sealed: Sealed
    fields: list[str]


@event("person.relocated", stream_type="person")
class PersonRelocated(EventPayload):
    """A person moved to another village (possibly another township)."""

    person_id: str
    from_village_code: str
    village_code: str
    township_code: str
    sealed: Sealed = Field(default_factory=dict)


@event("person.reassessed", stream_type="person", version=2)
class PersonReassessed(EventPayload):
    """A new assessment changed the category or grade (and so the certificate's last two digits).

    Schema v2 dropped ``resident_index`` (see :class:`PersonRegistered` v3).
    """

    person_id: str
    category: int = Field(ge=1, le=7)
    grade: int = Field(ge=1, le=4)
    severe: bool
    sealed: Sealed


@upcaster("person.reassessed", from_version=1)
def _person_reassessed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return _without_resident_index(data)


@event("person.hardship_flags_set", stream_type="person")
class HardshipFlagsSet(EventPayload):
    """The hardship (困境) flags of a person replaced by a new set."""

    person_id: str
    hardship: list[str]


@event("person.deregistered", stream_type="person")
class PersonDeregistered(EventPayload):
    """A person left the register (died, moved away, certificate revoked)."""

    person_id: str
    reason: DeregistrationReason
    effective_on: date


@event("person.personal_data_erased", stream_type="person")
class PersonalDataErased(EventPayload):
    """The person's data key was destroyed: their sealed fields can never be read again."""

    person_id: str


@event("visit.recorded", stream_type="person", version=2)
class HomeVisitRecorded(EventPayload):
    """One attempt at the yearly survey visit (入户调研) of a person: reached, or lost to follow-up (失访).

    A person may have several in a year: a 失访 attempt and a later reached one, or a follow-up
    visit after a reached one. Schema v2 added ``outcome`` (``reached`` or ``lost``), the
    ``lost_reason`` of a 失访 attempt, the ``respondent`` of a reached one and the survey form
    version the answers were given on (``form_id``, ``form_version``); ``sealed_answers`` holds
    ``answers``, the JSON of item code to answer, sealed with the person's key (v1 events sealed the
    three texts one by one). ``mode`` and ``needs`` are as before: a reached visit's needs are the
    services still needed, derived from its answers.
    """

    person_id: str
    visit_id: str
    year: int
    visited_on: date
    visitor: str
    mode: VisitMode
    outcome: VisitOutcome
    lost_reason: str | None = None
    respondent: str | None = None
    form_id: str = DEFAULT_SURVEY_FORM_ID
    form_version: int = 1
    needs: list[str]
    sealed_answers: Sealed = Field(default_factory=dict)
    village_code: str
    township_code: str


@upcaster("visit.recorded", from_version=1)
def _visit_recorded_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 had one visit a year; a 失访 one was lost, any other reached. Its reason was not recorded.
    outcome = "lost" if data.get("mode") == "lost_to_follow_up" else "reached"
    return {**data, "outcome": outcome, "lost_reason": None, "respondent": None,
            "form_id": DEFAULT_SURVEY_FORM_ID, "form_version": 1}


@event("plan.drawn", stream_type="plan")
class PlanDrawn(EventPayload):
    """A personal plan (一人一策) opened for a person and a year."""

    plan_id: str
    person_id: str
    year: int
    village_code: str
    township_code: str


LEGACY_TEXT = "Clear text of an event written before the text was sealed (an older schema version); empty since"


@event("plan.item_added", stream_type="plan", version=3)
class PlanItemAdded(EventPayload):
    """An item added to a personal plan: a protection-service or an income-development measure.

    Schema v2 seals the free-text ``description`` with the person's key (in ``sealed``), as it
    often names the person; v1 events keep theirs in clear in ``description``. Schema v3 adds
    ``service_code``, the catalogue service the item delivers (``service.added``), when it has one
    (items proposed from a home visit do); older events are upcast with ``null``.
    """

    plan_id: str
    person_id: str
    year: int
    item_id: str
    kind: PlanKind
    need: str
    sealed: Sealed = Field(default_factory=dict, description="``description``, sealed with the person's key")
    description: str = Field(default="", description=LEGACY_TEXT)
    responsible_department: str
    due_on: date
    service_code: str | None = Field(default=None, description="The catalogue service (``service.added``), if any")


@upcaster("plan.item_added", from_version=1)
def _plan_item_added_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "sealed": {}}


@upcaster("plan.item_added", from_version=2)
def _plan_item_added_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "service_code": None}


@event("plan.item_delivered", stream_type="plan", version=2)
class PlanItemDelivered(EventPayload):
    """A plan item delivered to the person.

    Schema v2 seals the delivery ``note`` with the person's key (in ``sealed``); v1 events keep
    theirs in clear in ``note``.
    """

    plan_id: str
    person_id: str
    year: int
    item_id: str
    delivered_on: date
    sealed: Sealed = Field(default_factory=dict, description="``note``, sealed with the person's key")
    note: str = Field(default="", description=LEGACY_TEXT)


@upcaster("plan.item_delivered", from_version=1)
def _plan_item_delivered_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "sealed": {}}


@event("plan.item_cancelled", stream_type="plan", version=2)
class PlanItemCancelled(EventPayload):
    """A plan item cancelled, with the reason.

    Schema v2 seals the free-text ``reason`` with the person's key (in ``sealed``); v1 events keep
    theirs in clear in ``reason``.
    """

    plan_id: str
    person_id: str
    year: int
    item_id: str
    sealed: Sealed = Field(default_factory=dict, description="``reason``, sealed with the person's key")
    reason: str = Field(default="", description=LEGACY_TEXT)


@upcaster("plan.item_cancelled", from_version=1)
def _plan_item_cancelled_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "sealed": {}}


NotDeliveredReason = Literal["refused", "not_eligible", "moved_away", "died", "service_unavailable", "other"]
"""Why a plan item was not delivered: the person refused, was not eligible, moved away or died, or the
service was not available."""


@event("plan.item_not_delivered", stream_type="plan")
class PlanItemNotDelivered(EventPayload):
    """A plan item closed without delivery, with a coded reason (and an optional note, sealed).

    Unlike ``plan.item_cancelled`` (withdrawn: entered in error or replaced), this is an outcome of
    the follow-up: the item was pursued and could not be delivered, and the reason is counted.
    """

    plan_id: str
    person_id: str
    year: int
    item_id: str
    reason: NotDeliveredReason
    closed_on: date
    sealed: Sealed = Field(default_factory=dict, description="``note``, sealed with the person's key")
