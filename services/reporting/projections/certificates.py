"""Certificates read model: each registered person's certificate dates, by org unit.

Fed by the registry's ``certificate.*`` events (and the person's relocation and deregistration,
to keep the unit and the register status current). Status is not stored: valid, frozen,
cancelled and expired are derived from these dates and the day asked about
(``queries/certificates.py``), so the view changes when the clock passes a date.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Date, Index, MetaData, String, Table

from shared.catalogue import EventPayload
from shared.catalogue import certificates as cert
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

metadata = MetaData()

rep_certificates = Table(
    "rep_certificates", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("township_code", String(12), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("suffix", String(8), nullable=False),
    Column("frozen_from", Date),
    Column("cancelled_from", Date),
    Column("cancelled_on", Date),
    Column("active", Boolean, nullable=False),
    Index("ix_rep_certificates_unit", "township_code", "village_code"),
)


def changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The certificate rows an event changes."""
    match event:
        case cert.CertificateIssued():
            return [Upsert(rep_certificates, {"person_id": event.person_id}, {
                "township_code": event.township_code, "village_code": event.village_code,
                "issued_on": event.issued_on, "valid_until": event.valid_until, "suffix": event.suffix,
                "frozen_from": None, "cancelled_from": None, "cancelled_on": None, "active": True})]
        case cert.CertificateRenewed():
            return [Patch(rep_certificates, {"person_id": event.person_id},
                          {"issued_on": event.issued_on, "valid_until": event.valid_until})]
        case cert.CertificateReissued():
            return [Patch(rep_certificates, {"person_id": event.person_id}, {"suffix": event.suffix})]
        case cert.HouseholdMoveRecorded():
            return [Patch(rep_certificates, {"person_id": event.person_id},
                          {"frozen_from": event.frozen_from, "cancelled_from": event.cancelled_from})]
        case cert.CertificateTransferred():
            return [Patch(rep_certificates, {"person_id": event.person_id},
                          {"frozen_from": None, "cancelled_from": None})]
        case cert.CertificateCancelled():
            return [Patch(rep_certificates, {"person_id": event.person_id}, {"cancelled_on": event.cancelled_on})]
        case ev.PersonRelocated():
            return [Patch(rep_certificates, {"person_id": event.person_id},
                          {"village_code": event.village_code, "township_code": event.township_code})]
        case ev.PersonDeregistered():
            return [Patch(rep_certificates, {"person_id": event.person_id}, {"active": False})]
    return []


CERTIFICATES = Projection(
    name="certificates",
    source_service="registry",
    tables=(rep_certificates,),
    reads=(cert.CertificateIssued, cert.CertificateRenewed, cert.CertificateReissued, cert.HouseholdMoveRecorded,
           cert.CertificateTransferred, cert.CertificateCancelled, ev.PersonRelocated, ev.PersonDeregistered),
    changes=changes,
)
