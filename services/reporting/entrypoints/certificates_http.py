"""JSON views of the certificates read model: status by unit, and those expiring soon.

Both take ``?today=YYYY-MM-DD`` (default: the real date): status depends on the clock.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.reporting.queries import certificates as q
from shared.auth import CurrentPrincipal
from shared.http.bounds import DayBounds, Offset
from shared.http.deps import ReadConnection
from shared.http.responses import ResponseModel

certificates_router = APIRouter(tags=["certificates"])

Today = Annotated[date | None, Query(description="Judge status as of this day (default: today)"), DayBounds]
Within = Annotated[int, Query(ge=0, le=3660, description="Days ahead counted as expiring soon")]


class CertificateUnit(ResponseModel):
    """Certificates of active persons in one unit, by status; ``expiring``: valid ones ending soon."""

    code: str
    valid: int
    frozen: int
    cancelled: int
    expired: int
    expiring: int


class ExpiringCertificate(ResponseModel):
    """A person whose certificate expires soon (no personal data: the registry shows who it is)."""

    person_id: str
    township_code: str
    village_code: str
    valid_until: date
    suffix: str


@certificates_router.get("/certificates", summary="Certificate status by township (or by village of one)")
async def by_unit(_who: CurrentPrincipal, conn: ReadConnection, today: Today = None, within_days: Within = 90,
                  township_code: str | None = None) -> list[CertificateUnit]:
    found = await q.status_by_unit(conn, today=today or date.today(), within_days=within_days,
                                   township_code=township_code)
    return [CertificateUnit.model_validate(u) for u in found]


@certificates_router.get("/certificates/expiring", summary="Persons whose certificate expires within the days given")
async def expiring(
    _who: CurrentPrincipal, conn: ReadConnection, today: Today = None, within_days: Within = 90,
    township_code: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Offset = 0,
) -> list[ExpiringCertificate]:
    found = await q.expiring(conn, today=today or date.today(), within_days=within_days,
                             township_code=township_code, limit=limit, offset=offset)
    return [ExpiringCertificate.model_validate(c) for c in found]
