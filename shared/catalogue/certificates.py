"""Events of a disability certificate's life (残疾人证管理办法, in force since 2018-01-01).

Published by the registry on the stream ``certificate-<person id>``, one per registered person.
The certificate *number* is personal data and stays sealed on the person's stream; these events
carry only dates, the reissue suffix and the org unit, which reporting needs to show valid,
frozen, cancelled and expired certificates. Dates that follow from configured periods (the end
of validity, the day a moved household's certificate freezes or is cancelled) are computed by
the registry when the event is recorded and carried in it, so every reader agrees on them
without knowing the configuration.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from shared.catalogue.base import EventPayload, event

CancellationReason = Literal["died", "standard_not_met", "household_moved", "other"]


@event("certificate.issued", stream_type="certificate")
class CertificateIssued(EventPayload):
    """A person's certificate recorded with its issue date and the end of its validity
    (on registration, or taken over from the national system's extract)."""

    person_id: str
    issued_on: date
    valid_until: date
    suffix: str = ""
    village_code: str
    township_code: str


@event("certificate.renewed", stream_type="certificate")
class CertificateRenewed(EventPayload):
    """A certificate renewed after re-assessment: a new issue date and a new end of validity."""

    person_id: str
    issued_on: date
    valid_until: date


@event("certificate.reissued", stream_type="certificate")
class CertificateReissued(EventPayload):
    """A lost certificate reissued with the next suffix (B1, B2, …); its validity is unchanged."""

    person_id: str
    suffix: str
    issued_on: date


@event("certificate.household_moved", stream_type="certificate")
class HouseholdMoveRecorded(EventPayload):
    """The holder's household registration moved without the certificate: it is frozen from
    ``frozen_from`` and cancelled from ``cancelled_from`` unless transferred before."""

    person_id: str
    moved_on: date
    frozen_from: date
    cancelled_from: date


@event("certificate.transferred", stream_type="certificate")
class CertificateTransferred(EventPayload):
    """The certificate followed the moved household: the freeze and pending cancellation are lifted."""

    person_id: str
    transferred_on: date


@event("certificate.cancelled", stream_type="certificate")
class CertificateCancelled(EventPayload):
    """A certificate cancelled (death, standard no longer met, …); it stops benefits for good."""

    person_id: str
    reason: CancellationReason
    cancelled_on: date
