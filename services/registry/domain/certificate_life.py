"""A disability certificate's life: issued, valid ten years, renewed, reissued, frozen, cancelled.

Pure: commands are functions of (state, input, policy) returning events; ``evolve`` folds them.
Frozen, cancelled-after-a-move and expired are *derived from the date* (like overdue work), so
:func:`status` takes the day to judge on: a certificate becomes expired when its validity ends,
not when some event arrives.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch
from typing import Literal

from shared.catalogue import EventPayload
from shared.catalogue.certificates import (
    CancellationReason,
    CertificateCancelled,
    CertificateIssued,
    CertificateReissued,
    CertificateRenewed,
    CertificateTransferred,
    HouseholdMoveRecorded,
)
from shared.errors import DomainRuleViolated, InvalidInput

CertificateStatus = Literal["valid", "frozen", "cancelled", "expired"]
STATUSES: tuple[CertificateStatus, ...] = ("valid", "frozen", "cancelled", "expired")

_SUFFIX = re.compile(r"^(?P<number>.*?)(?P<suffix>B[1-9]\d*)$")


@dataclass(frozen=True)
class CertificatePolicy:
    """The configured periods (残疾人证管理办法 defaults; localities may differ)."""

    validity_years: int = 10
    freeze_after_months: int = 6
    cancel_after_months: int = 12
    expiring_within_days: int = 90

    def __post_init__(self) -> None:
        if self.validity_years < 1 or self.freeze_after_months < 0 or self.expiring_within_days < 0:
            raise ValueError("certificate periods must be positive")
        if self.cancel_after_months < self.freeze_after_months:
            raise ValueError("a moved household's certificate cannot be cancelled before it is frozen")


@dataclass(frozen=True)
class CertificateRecord:
    """A certificate's state as folded from its stream."""

    person_id: str
    issued_on: date
    valid_until: date
    suffix: str = ""
    moved_on: date | None = None
    frozen_from: date | None = None
    cancelled_from: date | None = None
    cancelled_on: date | None = None
    cancellation_reason: str | None = None


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def valid_until(issued_on: date, policy: CertificatePolicy) -> date:
    """The last day of validity: the day before the same date ``validity_years`` later."""
    return date.fromordinal(add_months(issued_on, 12 * policy.validity_years).toordinal() - 1)


def split_suffix(number: str) -> tuple[str, str]:
    """``("…20 characters…", "B2")`` from a reissued certificate's number; suffix ``""`` if none."""
    match = _SUFFIX.match(number.strip().upper())
    if match is None or len(match["number"]) != 20:
        return number.strip(), ""
    return match["number"], match["suffix"]


def next_suffix(suffix: str) -> str:
    """The suffix of the next reissue: ``""`` → ``B1`` → ``B2`` …"""
    return f"B{int(suffix[1:]) + 1}" if suffix else "B1"


def status(record: CertificateRecord, today: date) -> CertificateStatus:
    """The certificate's status on ``today``: cancelled beats frozen beats expired."""
    if record.cancelled_on is not None and record.cancelled_on <= today:
        return "cancelled"
    if record.cancelled_from is not None and record.cancelled_from <= today:
        return "cancelled"
    if record.frozen_from is not None and record.frozen_from <= today:
        return "frozen"
    if record.valid_until < today:
        return "expired"
    return "valid"


def expires_within(record: CertificateRecord, today: date, days: int) -> bool:
    """True if the certificate is still valid today and its validity ends within ``days`` days."""
    return status(record, today) == "valid" and (record.valid_until - today).days <= days


def evolve(state: CertificateRecord | None, event: EventPayload) -> CertificateRecord:
    """Apply one event to a certificate's state."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: CertificateRecord | None) -> CertificateRecord:
    raise TypeError(f"a certificate stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: CertificateIssued, state: CertificateRecord | None) -> CertificateRecord:
    return CertificateRecord(person_id=event.person_id, issued_on=event.issued_on,
                             valid_until=event.valid_until, suffix=event.suffix)


@_apply.register
def _(event: CertificateRenewed, state: CertificateRecord) -> CertificateRecord:
    return replace(state, issued_on=event.issued_on, valid_until=event.valid_until)


@_apply.register
def _(event: CertificateReissued, state: CertificateRecord) -> CertificateRecord:
    return replace(state, suffix=event.suffix)


@_apply.register
def _(event: HouseholdMoveRecorded, state: CertificateRecord) -> CertificateRecord:
    return replace(state, moved_on=event.moved_on, frozen_from=event.frozen_from,
                   cancelled_from=event.cancelled_from)


@_apply.register
def _(event: CertificateTransferred, state: CertificateRecord) -> CertificateRecord:
    return replace(state, moved_on=None, frozen_from=None, cancelled_from=None)


@_apply.register
def _(event: CertificateCancelled, state: CertificateRecord) -> CertificateRecord:
    return replace(state, cancelled_on=event.cancelled_on, cancellation_reason=event.reason)


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise InvalidInput(f"{field.replace('_', ' ')} {day} is in the future", field=field)


def _require_live(record: CertificateRecord, today: date, action: str) -> None:
    if status(record, today) == "cancelled":
        raise DomainRuleViolated(f"cannot {action}: the certificate of person {record.person_id} is cancelled")


def issue(
    *, person_id: str, issued_on: date, suffix: str, village_code: str, township_code: str,
    policy: CertificatePolicy, today: date,
) -> list[EventPayload]:
    """Record a person's certificate (first issue, or taken over from an extract)."""
    _not_future(issued_on, today, "issued_on")
    if suffix and _SUFFIX.match(f"{'0' * 20}{suffix}") is None:
        raise InvalidInput(f"reissue suffix {suffix!r} is not B1, B2, …", field="suffix")
    return [CertificateIssued(person_id=person_id, issued_on=issued_on, valid_until=valid_until(issued_on, policy),
                              suffix=suffix, village_code=village_code, township_code=township_code)]


def renew(record: CertificateRecord, *, issued_on: date, policy: CertificatePolicy, today: date) -> list[EventPayload]:
    """Renew after re-assessment: validity runs again from the new issue date (also for an expired one)."""
    _require_live(record, today, "renew")
    _not_future(issued_on, today, "issued_on")
    if issued_on <= record.issued_on:
        raise InvalidInput(f"a renewal must be issued after the current issue date {record.issued_on}",
                           field="issued_on")
    return [CertificateRenewed(person_id=record.person_id, issued_on=issued_on,
                               valid_until=valid_until(issued_on, policy))]


def reissue(record: CertificateRecord, *, issued_on: date, today: date) -> list[EventPayload]:
    """Reissue a lost certificate with the next suffix; its validity is unchanged."""
    _require_live(record, today, "reissue")
    _not_future(issued_on, today, "issued_on")
    return [CertificateReissued(person_id=record.person_id, suffix=next_suffix(record.suffix), issued_on=issued_on)]


def record_household_move(
    record: CertificateRecord, *, moved_on: date, policy: CertificatePolicy, today: date
) -> list[EventPayload]:
    """The household registration moved without the certificate: start the freeze/cancel clock."""
    _require_live(record, today, "record a household move")
    _not_future(moved_on, today, "moved_on")
    if record.moved_on is not None:
        raise DomainRuleViolated(f"a household move on {record.moved_on} is already pending for person "
                                 f"{record.person_id}; record the transfer first")
    return [HouseholdMoveRecorded(person_id=record.person_id, moved_on=moved_on,
                                  frozen_from=add_months(moved_on, policy.freeze_after_months),
                                  cancelled_from=add_months(moved_on, policy.cancel_after_months))]


def record_transfer(record: CertificateRecord, *, transferred_on: date, today: date) -> list[EventPayload]:
    """The certificate followed the household: lifts a freeze, unless it was already cancelled."""
    _require_live(record, today, "transfer")
    _not_future(transferred_on, today, "transferred_on")
    if record.moved_on is None:
        raise DomainRuleViolated(f"no household move is pending for person {record.person_id}")
    return [CertificateTransferred(person_id=record.person_id, transferred_on=transferred_on)]


def cancel(record: CertificateRecord, *, reason: CancellationReason, cancelled_on: date, today: date
           ) -> list[EventPayload]:
    """Cancel the certificate (death, standard no longer met, …); once is enough."""
    if record.cancelled_on is not None:
        raise DomainRuleViolated(f"the certificate of person {record.person_id} was cancelled on {record.cancelled_on}")
    _not_future(cancelled_on, today, "cancelled_on")
    return [CertificateCancelled(person_id=record.person_id, reason=reason, cancelled_on=cancelled_on)]
