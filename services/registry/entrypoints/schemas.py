"""What the registry's routes return: one response model per JSON shape, shown in ``/docs``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.auth import Role
from shared.catalogue.people import NotDeliveredReason, OrgLevel, PlanKind
from shared.http.responses import ResponseModel


class DevToken(ResponseModel):
    """A bearer token for a member of staff (development only)."""

    access_token: str
    token_type: Literal["bearer"]
    roles: list[Role]
    department: str


class OrgUnitWritten(ResponseModel):
    """An org unit or department was established (by its code)."""

    code: str


class StaffWritten(ResponseModel):
    """A member of staff was enrolled."""

    staff_id: str


class PersonWritten(ResponseModel):
    """A person's stream after the command: pass ``version`` as the next ``expected_version``."""

    person_id: str
    version: int


class PlanWritten(ResponseModel):
    """A plan's stream (``plan_id``) after the command."""

    plan_id: str
    version: int


class PlanItemAdded(PlanWritten):
    """A plan item was added; ``item_id`` names it for delivery or cancellation."""

    item_id: str


class OrgUnit(ResponseModel):
    """A district, township or village (12-digit statistical code)."""

    code: str
    name: str
    level: OrgLevel
    parent_code: str | None


class Department(ResponseModel):
    """A department of the federation or a partner."""

    code: str
    name: str
    org_unit_code: str | None


class Staff(ResponseModel):
    """A member of staff with their roles."""

    staff_id: str
    display_name: str
    department: str
    roles: list[Role]
    township_code: str | None
    active: bool = Field(description="False once disabled: no sign-in, tokens refused everywhere")


class Person(ResponseModel):
    """A registered person; ``personal_data`` says whether the personal fields are clear, masked or erased."""

    person_id: str
    version: int
    township_code: str
    village_code: str
    category: int
    grade: int
    severe: bool
    hardship: list[str]
    sex: str
    birth_year: int
    active: bool
    registered_on: date
    certificate_number: str | None
    name: str | None
    address: str | None
    personal_data: Literal["clear", "masked", "erased"]


class PlanItem(ResponseModel):
    """One item of a personal plan (一人一策); its texts (``description``, ``note``, ``cancel_reason``)
    are ``null`` outside the caller's scope and once the person is erased."""

    item_id: str
    kind: PlanKind
    need: str
    description: str | None
    responsible_department: str
    due_on: date
    status: Literal["planned", "delivered", "not_delivered", "cancelled"]
    overdue: bool = Field(description="Still planned after its due day")
    delivered_on: date | None
    note: str | None
    cancel_reason: str | None
    service_code: str | None = Field(description="The catalogue service the item delivers, if any")
    not_delivered_reason: NotDeliveredReason | None
    closed_on: date | None = Field(description="The day it was closed without delivery")


class Plan(ResponseModel):
    """A person's plan for a year, with its items; ``personal_data`` says whether any text is shown."""

    plan_id: str
    person_id: str
    year: int
    version: int
    township_code: str
    village_code: str
    personal_data: Literal["clear", "masked", "erased"]
    items: list[PlanItem]


class AccessLogEntry(ResponseModel):
    """One read of a person's personal data in clear (``person_id`` null: a lookup that found no one)."""

    entry_id: str
    at: datetime
    staff_id: str
    roles: list[str]
    route: str
    what: Literal["details", "list", "lookup", "plan"]
    person_id: str | None
