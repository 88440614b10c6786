"""What the service-catalogue and plan-proposal routes return (shown in ``/docs``)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from shared.catalogue.people import PlanKind
from shared.http.responses import ResponseModel


class CatalogueService(ResponseModel):
    """One entry of the service catalogue: need → service → part → department → default days."""

    code: str
    name_zh: str
    name_en: str
    need: str
    part: PlanKind
    responsible_department: str
    default_days: int
    retired: bool
    version: int = Field(description="Pass as ``expected_version`` to change or retire it")


class ServiceWritten(ResponseModel):
    """A catalogue entry after the command."""

    code: str
    version: int


class CatalogueSeeded(ResponseModel):
    """The default services entered now, and those the catalogue had already (active or retired)."""

    added: list[str]
    already_there: list[str]


class ProposedItem(ResponseModel):
    """A proposed plan item, in exactly the shape ``POST …/proposal`` accepts back."""

    kind: PlanKind
    need: str
    description: str
    responsible_department: str
    due_on: date
    service_code: str | None


class ServiceName(ResponseModel):
    """A service's names, for showing a proposal."""

    name_zh: str
    name_en: str


class PlanProposal(ResponseModel):
    """The items a reached home visit's needs call for, in the plan's two parts."""

    person_id: str
    year: int
    visit_id: str
    visited_on: date
    needs: list[str]
    plan_version: int = Field(description="The plan's version (0: none yet), the ``expected_version`` to confirm with")
    protection: list[ProposedItem] = Field(description="保障服务: protection and services")
    income: list[ProposedItem] = Field(description="发展增收: development and income")
    unanswered_needs: list[str] = Field(description="Needs no active catalogue service answers")
    services: dict[str, ServiceName]


class ProposalConfirmed(ResponseModel):
    """The plan after the confirmed items were added (in the order they were sent)."""

    plan_id: str
    version: int
    item_ids: list[str]
