"""Command inputs of the registry: pydantic models validated at the edge (HTTP body or CLI)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.auth import Role
from shared.catalogue.people import DeregistrationReason, OrgLevel, PlanKind, VisitMode
from shared.commands import Command as Command  # re-exported: routes and use cases name c.Command
from shared.commands import VersionedCommand as VersionedCommand

# Every free-text and list field is bounded, so that no command's event nears QD_MAX_EVENT_BYTES
# (docs/events.md, "Size limits").
_TAG = Annotated[str, StringConstraints(min_length=1, max_length=50)]
"""One code from a short list (a hardship, a need)."""


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


class RecordVisit(VersionedCommand):
    visited_on: date
    mode: VisitMode
    needs: list[_TAG] = Field(default_factory=list, max_length=20)
    what_they_need: str = Field(default="", max_length=2000, description="他们需要什么")
    what_they_can_do: str = Field(default="", max_length=2000, description="他们自己能做什么")
    what_we_can_do: str = Field(default="", max_length=2000, description="我们能为他们做什么")


class AddPlanItem(VersionedCommand):
    kind: PlanKind
    need: str = Field(min_length=1, max_length=50)
    description: str = Field(min_length=1, max_length=500)
    responsible_department: str = Field(min_length=1, max_length=50)
    due_on: date


class DeliverPlanItem(VersionedCommand):
    delivered_on: date
    note: str = Field(default="", max_length=1000)


class CancelPlanItem(VersionedCommand):
    reason: str = Field(min_length=1, max_length=500)
