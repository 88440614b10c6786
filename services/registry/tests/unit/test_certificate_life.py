"""The certificate life cycle: validity, renewal, reissue suffixes, the household-move rule."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.domain import certificate_life as life
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.errors import DomainRuleViolated, InvalidInput

pytestmark = pytest.mark.unit

POLICY = life.CertificatePolicy()
TODAY = date(2026, 6, 1)


def _record(issued_on: date = date(2020, 3, 15), policy: life.CertificatePolicy = POLICY) -> life.CertificateRecord:
    events = life.issue(person_id="p1", issued_on=issued_on, suffix="", village_code="511403001001",
                        township_code="511403001000", policy=policy, today=TODAY)
    state = fold(life.evolve, events)
    assert state is not None
    return state


def _then(record: life.CertificateRecord, events: list[EventPayload]) -> life.CertificateRecord:
    for event in events:
        record = life.evolve(record, event)
    return record


def test_valid_ten_years_to_the_day_before_and_then_expired() -> None:
    record = _record(date(2016, 6, 2))
    assert record.valid_until == date(2026, 6, 1)
    assert life.status(record, date(2026, 6, 1)) == "valid"
    assert life.status(record, date(2026, 6, 2)) == "expired"


def test_validity_is_configurable() -> None:
    record = _record(date(2024, 2, 29), life.CertificatePolicy(validity_years=5))
    assert record.valid_until == date(2029, 2, 27)  # 29 Feb → 28 Feb five years on, minus a day


def test_expiring_within_days_only_while_valid() -> None:
    record = _record(date(2016, 8, 1))  # valid until 2026-07-31: 60 days after TODAY
    assert life.expires_within(record, TODAY, 90)
    assert not life.expires_within(record, TODAY, 30)
    assert not life.expires_within(record, date(2026, 8, 1), 90)  # expired by then


def test_renewal_restarts_validity_even_when_expired() -> None:
    record = _record(date(2015, 1, 10))
    assert life.status(record, TODAY) == "expired"
    renewed = _then(record, life.renew(record, issued_on=date(2026, 5, 20), policy=POLICY, today=TODAY))
    assert renewed.valid_until == date(2036, 5, 19)
    assert life.status(renewed, TODAY) == "valid"


def test_renewal_must_come_after_the_current_issue() -> None:
    record = _record()
    with pytest.raises(InvalidInput) as caught:
        life.renew(record, issued_on=date(2019, 1, 1), policy=POLICY, today=TODAY)
    assert caught.value.field == "issued_on"


def test_reissue_suffixes_count_up_and_keep_validity() -> None:
    record = _record()
    once = _then(record, life.reissue(record, issued_on=date(2024, 1, 5), today=TODAY))
    twice = _then(once, life.reissue(once, issued_on=date(2025, 1, 5), today=TODAY))
    assert (once.suffix, twice.suffix) == ("B1", "B2")
    assert twice.valid_until == record.valid_until


def test_household_move_freezes_after_six_months_and_cancels_after_a_year() -> None:
    record = _record()
    moved = _then(record, life.record_household_move(record, moved_on=date(2025, 8, 31), policy=POLICY, today=TODAY))
    assert (moved.frozen_from, moved.cancelled_from) == (date(2026, 2, 28), date(2026, 8, 31))
    assert life.status(moved, date(2026, 2, 27)) == "valid"
    assert life.status(moved, date(2026, 2, 28)) == "frozen"
    assert life.status(moved, date(2026, 8, 31)) == "cancelled"


def test_household_move_periods_are_configurable() -> None:
    policy = life.CertificatePolicy(freeze_after_months=3, cancel_after_months=9)
    record = _record(policy=policy)
    moved = _then(record, life.record_household_move(record, moved_on=date(2026, 1, 1), policy=policy, today=TODAY))
    assert (moved.frozen_from, moved.cancelled_from) == (date(2026, 4, 1), date(2026, 10, 1))


def test_transfer_lifts_the_freeze_but_not_a_cancellation() -> None:
    record = _record()
    moved = _then(record, life.record_household_move(record, moved_on=date(2025, 10, 1), policy=POLICY, today=TODAY))
    assert life.status(moved, TODAY) == "frozen"
    back = _then(moved, life.record_transfer(moved, transferred_on=TODAY, today=TODAY))
    assert life.status(back, TODAY) == "valid"
    with pytest.raises(DomainRuleViolated):
        life.record_transfer(back, transferred_on=TODAY, today=TODAY)
    late = _then(record, life.record_household_move(record, moved_on=date(2025, 1, 1), policy=POLICY, today=TODAY))
    with pytest.raises(DomainRuleViolated):
        life.record_transfer(late, transferred_on=TODAY, today=TODAY)


def test_cancelled_certificate_refuses_renewal_and_second_cancellation() -> None:
    record = _record()
    cancelled = _then(record, life.cancel(record, reason="died", cancelled_on=date(2026, 5, 1), today=TODAY))
    assert life.status(cancelled, TODAY) == "cancelled"
    with pytest.raises(DomainRuleViolated):
        life.renew(cancelled, issued_on=TODAY, policy=POLICY, today=TODAY)
    with pytest.raises(DomainRuleViolated):
        life.cancel(cancelled, reason="other", cancelled_on=TODAY, today=TODAY)


def test_dates_in_the_future_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        life.issue(person_id="p", issued_on=date(2026, 6, 2), suffix="", village_code="v", township_code="t",
                   policy=POLICY, today=TODAY)
    assert caught.value.field == "issued_on"


def test_split_suffix() -> None:
    number = "11010519491231002X41"
    assert life.split_suffix(number + "B2") == (number, "B2")
    assert life.split_suffix(number) == (number, "")
    assert life.split_suffix("12345B1") == ("12345B1", "")


def test_policy_refuses_cancel_before_freeze() -> None:
    with pytest.raises(ValueError):
        life.CertificatePolicy(freeze_after_months=12, cancel_after_months=6)
