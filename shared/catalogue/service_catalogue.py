"""Events of the service catalogue: what the federation offers for each coded need.

Published by the registry service. One stream per service, ``service-<code>``; every event carries
the whole entry as it stands after the change, so a reader never has to fold the stream to know an
entry's current values. A plan item proposed from a home visit names the service it came from
(``plan.item_added`` ``service_code``).
"""

from __future__ import annotations

from pydantic import Field

from shared.catalogue.base import EventPayload, event
from shared.catalogue.people import PlanKind

SERVICE_CODE = r"^[a-z][a-z0-9_]{1,49}$"
"""A service code: lower-case letters, digits and underscores (it names a stream)."""


class ServiceEntry(EventPayload):
    """The values of one catalogue entry (the fields every catalogue event carries)."""

    code: str = Field(pattern=SERVICE_CODE)
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    need: str = Field(description="The need code (home-visit vocabulary) that this service answers")
    part: PlanKind = Field(description="protection (保障服务) or income (发展增收)")
    responsible_department: str
    default_days: int = Field(ge=1, le=366, description="Days from the visit to the proposed due date")


@event("service.added", stream_type="service")
class ServiceAdded(ServiceEntry):
    """A service entered into the federation's catalogue (need → service → part → department → days)."""


@event("service.changed", stream_type="service")
class ServiceChanged(ServiceEntry):
    """A catalogue entry's names, need, part, department or default days changed (its new values)."""


@event("service.retired", stream_type="service")
class ServiceRetired(EventPayload):
    """A service withdrawn from the catalogue: no longer proposed; items already planned keep their code."""

    code: str = Field(pattern=SERVICE_CODE)
    reason: str = ""
