"""HTTP routes of certificates: their life cycle and the list of those about to expire."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.registry.application import certificates as uc
from services.registry.application.deps import RegistryDeps
from services.registry.domain.certificate_life import CertificateStatus
from services.registry.entrypoints import register_schemas as s
from shared.auth import CurrentPrincipal
from shared.http.bounds import Offset
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter(tags=["certificates"])

Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]


@router.post("/persons/{person_id}/certificate", status_code=201, summary="Record a person's certificate")
async def issue(person_id: str, body: uc.IssueCertificate, request: Request, who: CurrentPrincipal,
                deps: Deps) -> s.CertificateWritten:
    return s.CertificateWritten.model_validate(await execute(
        request, lambda uow: uc.issue_certificate(uow, deps, who, person_id, body), buffered=True))


@router.get("/persons/{person_id}/certificate", summary="A person's certificate and its status today")
async def get(person_id: str, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> s.Certificate:
    return s.Certificate.model_validate(await uc.get_certificate(conn, deps, person_id))


@router.post("/persons/{person_id}/certificate/renewal", summary="Renew after re-assessment")
async def renew(person_id: str, body: uc.RenewCertificate, request: Request, who: CurrentPrincipal,
                deps: Deps) -> s.CertificateWritten:
    return s.CertificateWritten.model_validate(await execute(
        request, lambda uow: uc.renew_certificate(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/certificate/reissue", summary="Reissue a lost certificate (B1, B2, …)")
async def reissue(person_id: str, body: uc.ReissueCertificate, request: Request, who: CurrentPrincipal,
                  deps: Deps) -> s.CertificateWritten:
    return s.CertificateWritten.model_validate(await execute(
        request, lambda uow: uc.reissue_certificate(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/certificate/household-move",
             summary="Household registration moved without the certificate (frozen, then cancelled)")
async def household_move(person_id: str, body: uc.RecordHouseholdMove, request: Request, who: CurrentPrincipal,
                         deps: Deps) -> s.CertificateWritten:
    return s.CertificateWritten.model_validate(await execute(
        request, lambda uow: uc.record_household_move(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/certificate/transfer", summary="The certificate followed the household")
async def transfer(person_id: str, body: uc.RecordTransfer, request: Request, who: CurrentPrincipal,
                   deps: Deps) -> s.CertificateWritten:
    return s.CertificateWritten.model_validate(await execute(
        request, lambda uow: uc.record_transfer(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/certificate/cancellation", summary="Cancel a certificate")
async def cancel(person_id: str, body: uc.CancelCertificate, request: Request, who: CurrentPrincipal,
                 deps: Deps) -> s.CertificateWritten:
    return s.CertificateWritten.model_validate(await execute(
        request, lambda uow: uc.cancel_certificate(uow, deps, who, person_id, body), buffered=True))


@router.get("/certificates", summary="Certificates by area and status, or those expiring soon")
async def list_certificates(
    _who: CurrentPrincipal, deps: Deps, conn: ReadConnection,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3660, description="e.g. 90")] = None,
    status: CertificateStatus | None = None,
    township_code: str | None = None,
    village_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[s.Certificate]:
    found = await uc.list_certificates(conn, deps, expiring_within_days=expiring_within_days, status=status,
                                       township_code=township_code, village_code=village_code,
                                       limit=limit, offset=offset)
    return [s.Certificate.model_validate(c) for c in found]


@router.get("/certificates/expiring", summary="Persons whose certificate expires within the configured days")
async def expiring(
    _who: CurrentPrincipal, deps: Deps, conn: ReadConnection, township_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0,
) -> list[s.Certificate]:
    found = await uc.list_certificates(
        conn, deps, expiring_within_days=deps.certificate_policy.expiring_within_days, status=None,
        township_code=township_code, village_code=None, limit=limit, offset=offset)
    return [s.Certificate.model_validate(c) for c in found]
