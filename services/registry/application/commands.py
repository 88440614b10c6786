"""Command inputs of the registry: pydantic models validated at the edge (HTTP body or CLI)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.auth import Role
from shared.catalogue.people import DeregistrationReason, NotDeliveredReason, OrgLevel, PlanKind, VisitMode
from shared.catalogue.service_catalogue import SERVICE_CODE
from shared.catalogue.surveys import LostReason, Respondent, SurveySection
from shared.commands import Command as Command  # re-exported: routes and use cases name c.Command
from shared.commands import VersionedCommand as VersionedCommand

# Every free-text and list field is bounded, so that no command's event nears QD_MAX_EVENT_BYTES
# (docs/events.md, "Size limits").
_TAG = Annotated[str, StringConstraints(min_length=1, max_length=50)]
"""One code from a short list (a hardship, a need)."""
CODE_PATTERN_ID = r"^[A-Za-z0-9_-]{1,80}$"
"""A survey form's id (also in its route)."""


class EstablishOrgUnit(Command):
    code: str = Field(pattern=r"^\d{12}$", description="12-digit statistical division code")
    name: str = Field(min_length=1, max_length=100)
    level: OrgLevel
    parent_code: str | None = Field(default=None, pattern=r"^\d{12}$")


class RegisterDepartment(Command):
    code: str = Field(pattern=r"^[a-z0-9_-]{2,50}$", description="Short code, used in NATS subjects")
    name: str = Field(min_length=1, max_length=100)
    org_unit_code: str | None = Field(default=None, pattern=r"^\d{12}$")


class EnrolStaff(Command):
    staff_id: str = Field(pattern=r"^[a-zA-Z0-9_.-]{2,50}$")
    display_name: str = Field(min_length=1, max_length=100)
    department: str = Field(min_length=1, max_length=50)
    roles: list[Role] = Field(min_length=1, max_length=20)
    township_code: str | None = Field(default=None, pattern=r"^\d{12}$")


class ChangeStaffRoles(Command):
    roles: list[Role] = Field(min_length=1)
    township_code: str | None = Field(default=None, pattern=r"^\d{12}$")


class DisableStaff(Command):
    reason: str = Field(default="", max_length=200)


class SetStaffContact(Command):
    """Where reminders reach a member of staff; ``null`` (or leaving a field out) removes that channel."""

    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s<>,;]{1,64}@[^@\s<>,;]+\.[^@\s<>,;]+$",
        description="Work e-mail address for reminders")
    webhook_recipient: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.:@+-]{1,100}$",
        description="The id an SMS or WeChat gateway knows this member of staff by (a phone number, an open id)")


class RegisterPerson(Command):
    certificate_number: str = Field(
        max_length=40, description="20-character second-generation disability certificate number")
    name: str = Field(min_length=1, max_length=50)
    address: str = Field(default="", max_length=200)
    village_code: str = Field(pattern=r"^\d{12}$")
    hardship: list[_TAG] = Field(default_factory=list, max_length=20)
    registered_on: date | None = None


class CorrectPerson(VersionedCommand):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    address: str | None = Field(default=None, max_length=200)


class RelocatePerson(VersionedCommand):
    village_code: str = Field(pattern=r"^\d{12}$")
    address: str | None = Field(default=None, max_length=200)


class ReassessPerson(VersionedCommand):
    certificate_number: str = Field(
        max_length=40, description="The new certificate number: same resident ID, new category/grade")


class SetHardship(VersionedCommand):
    hardship: list[_TAG] = Field(max_length=20)


class DeregisterPerson(VersionedCommand):
    reason: DeregistrationReason
    effective_on: date | None = None


Answer = (Annotated[str, StringConstraints(max_length=10_000)] | list[Annotated[str, StringConstraints(max_length=50)]]
          | bool | int | float)
"""One answer: an option code, option codes, yes/no, a number, a date ``YYYY-MM-DD`` or a text
(``null``, like an empty text or list, is no answer)."""


class RecordVisit(VersionedCommand):
    """One visit attempt. With ``form_id`` and ``form_version``, ``answers`` are the survey on that form
    version; without them (the old body), the three texts and ``needs`` on the default form's version 1."""

    visited_on: date
    mode: VisitMode
    respondent: Respondent | None = Field(default=None, description="Who answered (a reached visit on a form)")
    lost_reason: LostReason | None = Field(default=None, description="Why the visit was lost (失访): required then")
    form_id: str | None = Field(default=None, pattern=CODE_PATTERN_ID, max_length=80)
    form_version: int | None = Field(default=None, ge=1)
    answers: dict[Annotated[str, StringConstraints(max_length=40)], Answer | None] = Field(
        default_factory=dict, max_length=200, description="Item code → answer, checked against the form version")
    visit_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$",
                                 description="The device's id for this visit: a retry is refused (409), not doubled")
    needs: list[_TAG] = Field(default_factory=list, max_length=20)
    what_they_need: str = Field(default="", max_length=2000, description="他们需要什么")
    what_they_can_do: str = Field(default="", max_length=2000, description="他们自己能做什么")
    what_we_can_do: str = Field(default="", max_length=2000, description="我们能为他们做什么")


class SaveSurveyDraft(VersionedCommand):
    """The working copy of a survey form's next version."""

    year: int = Field(ge=2000, le=2100, description="The first year the version applies to")
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    sections: list[SurveySection] = Field(max_length=30)


class PlanItemFields(Command):
    kind: PlanKind
    need: str = Field(min_length=1, max_length=50)
    description: str = Field(min_length=1, max_length=500)
    responsible_department: str = Field(min_length=1, max_length=50)
    due_on: date
    service_code: str | None = Field(
        default=None, max_length=50, description="The catalogue service delivered (its need and part must match)")


class AddPlanItem(PlanItemFields, VersionedCommand):
    pass


class ConfirmProposal(VersionedCommand):
    """The proposal as the officer confirmed or changed it: items dropped, added, their texts,
    departments and dates edited. ``expected_version`` is the plan's (0 when there is none yet)."""

    items: list[PlanItemFields] = Field(min_length=1, max_length=50)


class RecordNonDelivery(VersionedCommand):
    reason: NotDeliveredReason
    closed_on: date
    note: str = Field(default="", max_length=1000)


class ServiceFields(Command):
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    need: str = Field(min_length=1, max_length=50)
    part: PlanKind
    responsible_department: str = Field(min_length=1, max_length=50)
    default_days: int = Field(ge=1, le=366, description="Days from the visit to the proposed due date")


class AddService(ServiceFields):
    code: str = Field(pattern=SERVICE_CODE)


class ChangeService(ServiceFields, VersionedCommand):
    pass


class RetireService(VersionedCommand):
    reason: str = Field(default="", max_length=500)


class DeliverPlanItem(VersionedCommand):
    delivered_on: date
    note: str = Field(default="", max_length=1000)


class CancelPlanItem(VersionedCommand):
    reason: str = Field(min_length=1, max_length=500)
