"""Use cases on a person's certificate: issue, renew, reissue, household move and transfer, cancel;
and the reads that show its status (on the person, and the list of those about to expire)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import certificates, persons
from services.registry.application.deps import WRITERS, RegistryDeps
from services.registry.application.lookup_rows import CERTIFICATE, PERSON
from services.registry.domain import certificate_life as life
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.catalogue.certificates import CancellationReason
from shared.commands import Command, VersionedCommand
from shared.errors import AlreadyExists, NotFound
from shared.eventstore.repository import Repository
from shared.eventstore.unit_of_work import UnitOfWork


class IssueCertificate(Command):
    """Record the certificate of a registered person who has none recorded yet."""

    issued_on: date
    suffix: str = Field(default="", max_length=4, description="Reissue suffix as printed (B1, B2, …), if any")


class RenewCertificate(VersionedCommand):
    issued_on: date = Field(description="Issue date of the renewed certificate (after re-assessment)")


class ReissueCertificate(VersionedCommand):
    issued_on: date = Field(description="Day the lost certificate was reissued (next suffix B1, B2, …)")


class RecordHouseholdMove(VersionedCommand):
    moved_on: date = Field(description="Day the household registration moved without the certificate")


class RecordTransfer(VersionedCommand):
    transferred_on: date = Field(description="Day the certificate followed the household")


class CancelCertificate(VersionedCommand):
    reason: CancellationReason
    cancelled_on: date | None = None


async def issue_certificate(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: IssueCertificate
) -> dict[str, object]:
    """Record a person's certificate dates (once; later changes are renewals and reissues)."""
    principal.require(*WRITERS, action="recording a certificate")
    person = await deps.repository.load(uow, PERSON, person_id)
    principal.require_township(person.state.township_code, action="recording a certificate")
    found = await deps.repository.find(uow, CERTIFICATE, person_id)
    if found.state is not None:
        raise AlreadyExists(f"person {person_id} already has a certificate issued on {found.state.issued_on}; "
                            "renew or reissue it instead", field="issued_on")
    events = life.issue(person_id=person_id, issued_on=cmd.issued_on, suffix=cmd.suffix.strip().upper(),
                        village_code=person.state.village_code, township_code=person.state.township_code,
                        policy=deps.certificate_policy, today=deps.today())
    saved = await deps.repository.save(uow, CERTIFICATE, Repository.new(CERTIFICATE, person_id), events,
                                       deps.context(principal), expected_version=None)
    return {"person_id": person_id, "version": saved.version}


Decide = Callable[[life.CertificateRecord], list[EventPayload]]


async def _change(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: VersionedCommand,
    action: str, decide: Decide,
) -> dict[str, object]:
    principal.require(*WRITERS, action=action)
    person = await deps.repository.load(uow, PERSON, person_id)
    principal.require_township(person.state.township_code, action=action)
    loaded = await deps.repository.load(uow, CERTIFICATE, person_id,
                                        missing=f"person {person_id} has no certificate recorded")
    saved = await deps.repository.save(uow, CERTIFICATE, loaded, decide(loaded.state), deps.context(principal),
                                       expected_version=cmd.expected_version)
    return {"person_id": person_id, "version": saved.version}


async def renew_certificate(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: RenewCertificate
) -> dict[str, object]:
    """Renew after re-assessment: validity runs again from the new issue date."""
    return await _change(uow, deps, principal, person_id, cmd, "renewing a certificate", lambda record: life.renew(
        record, issued_on=cmd.issued_on, policy=deps.certificate_policy, today=deps.today()))


async def reissue_certificate(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: ReissueCertificate
) -> dict[str, object]:
    """Reissue a lost certificate with the next suffix."""
    return await _change(uow, deps, principal, person_id, cmd, "reissuing a certificate", lambda record: life.reissue(
        record, issued_on=cmd.issued_on, today=deps.today()))


async def record_household_move(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: RecordHouseholdMove
) -> dict[str, object]:
    """The household moved without the certificate: frozen, then cancelled, after the configured periods."""
    return await _change(uow, deps, principal, person_id, cmd, "recording a household move",
                         lambda record: life.record_household_move(
                             record, moved_on=cmd.moved_on, policy=deps.certificate_policy, today=deps.today()))


async def record_transfer(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: RecordTransfer
) -> dict[str, object]:
    """The certificate followed the household: the freeze is lifted."""
    return await _change(uow, deps, principal, person_id, cmd, "recording a certificate transfer",
                         lambda record: life.record_transfer(record, transferred_on=cmd.transferred_on,
                                                             today=deps.today()))


async def cancel_certificate(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, person_id: str, cmd: CancelCertificate
) -> dict[str, object]:
    """Cancel a certificate (death, standard no longer met, …)."""
    return await _change(uow, deps, principal, person_id, cmd, "cancelling a certificate", lambda record: life.cancel(
        record, reason=cmd.reason, cancelled_on=cmd.cancelled_on or deps.today(), today=deps.today()))


def _record(row: Any) -> life.CertificateRecord:
    return life.CertificateRecord(person_id=row.person_id, issued_on=row.issued_on, valid_until=row.valid_until,
                                  suffix=row.suffix, frozen_from=row.frozen_from,
                                  cancelled_from=row.cancelled_from, cancelled_on=row.cancelled_on)


def _certificate_json(row: Any, today: date) -> dict[str, Any]:
    record = _record(row)
    return {"person_id": row.person_id, "issued_on": row.issued_on, "valid_until": row.valid_until,
            "suffix": row.suffix, "status": life.status(record, today), "frozen_from": row.frozen_from,
            "cancelled_from": row.cancelled_from, "cancelled_on": row.cancelled_on}


async def get_certificate(conn: AsyncConnection, deps: RegistryDeps, person_id: str) -> dict[str, Any]:
    """A person's certificate with its status today (404 if none is recorded)."""
    row = (await conn.execute(select(certificates).where(certificates.c.person_id == person_id))).first()
    if row is None:
        raise NotFound(f"person {person_id} has no certificate recorded")
    return _certificate_json(row, deps.today())


async def list_certificates(
    conn: AsyncConnection, deps: RegistryDeps, *, expiring_within_days: int | None, status: str | None,
    township_code: str | None, village_code: str | None, limit: int, offset: int,
) -> list[dict[str, Any]]:
    """Active persons' certificates by area, those expiring within some days, or in one status."""
    today = deps.today()
    query = (select(certificates, persons.c.township_code, persons.c.village_code)
             .join(persons, persons.c.person_id == certificates.c.person_id)
             .where(persons.c.active.is_(True))
             .order_by(certificates.c.valid_until, certificates.c.person_id))
    if township_code:
        query = query.where(persons.c.township_code == township_code)
    if village_code:
        query = query.where(persons.c.village_code == village_code)
    if expiring_within_days is not None:
        query = query.where(certificates.c.valid_until >= today,
                            certificates.c.valid_until <= today + timedelta(days=expiring_within_days))
    rows = (await conn.execute(query)).all()
    found = [{**_certificate_json(row, today), "township_code": row.township_code,
              "village_code": row.village_code} for row in rows]
    if expiring_within_days is not None:
        found = [c for c in found if c["status"] == "valid"]
    if status is not None:
        found = [c for c in found if c["status"] == status]
    return found[offset:offset + limit]
