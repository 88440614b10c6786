"""The time cut of the audit views: which events belong to a moment, and how moments are refused and cached."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.reporting import as_of as as_of_module
from services.reporting.as_of import Cut, Moment, Moments, check_requested, within
from services.reporting.projections.coverage import COVERAGE
from services.reporting.projections.coverage import metadata as coverage_metadata
from services.reporting.queries.coverage import coverage_tree
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.errors import InvalidInput
from shared.messaging.subjects import event_subject
from shared.signing import KeyRing, Signer
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
VILLAGE = "511403001001"


def _registered(person: str, at: datetime, event_id: str | None = None) -> Envelope:
    payload = ev.PersonRegistered(
        person_id=person, sealed={"name": "ciphertext"}, village_code=VILLAGE,
        township_code="511403001000", category=4, grade=1, severe=True, hardship=[], sex="female",
        birth_year=1950, registered_on=date(2026, 1, 5))
    return envelope_for(payload, stream_id=person, version=1, time=at, actor="township-001",
                        source="qingdan/registry/federation", event_id=event_id)


def _offer(cut: Cut, envelope: Envelope) -> None:
    cut.offer(event_subject("qd", "registry", envelope.department, envelope.type), envelope.to_json(), "registry")


async def _registered_in_village(cut: Cut) -> int:
    engine, _rows = await cut.load([coverage_metadata])
    try:
        async with engine.connect() as conn:
            units = await coverage_tree(conn, 2026)
    finally:
        await engine.dispose()
    return units[VILLAGE].groups["all"].registered if VILLAGE in units else 0


def test_an_event_at_the_moment_belongs_to_it_and_one_a_microsecond_later_does_not() -> None:
    assert within(T0, T0)
    assert within(T0 - timedelta(microseconds=1), T0)
    assert not within(T0 + timedelta(microseconds=1), T0)


def test_the_cut_compares_instants_not_wall_clock_readings() -> None:
    beijing = timezone(timedelta(hours=8))
    # 15:30 in Beijing is 07:30 UTC: before an as_of of 08:00 UTC, though its wall-clock reads later.
    assert within(datetime(2026, 3, 1, 15, 30, tzinfo=beijing), T0)
    assert not within(datetime(2026, 3, 1, 16, 30, tzinfo=beijing), T0)


async def test_the_model_as_of_a_moment_holds_the_events_up_to_it_whatever_their_stream_order() -> None:
    early, late, later_published_early = "p-early", "p-late", "p-backdated"
    cut = Cut([COVERAGE], T0, keyring=None, namespace="qd")
    _offer(cut, _registered(early, T0 - timedelta(hours=1)))
    _offer(cut, _registered(late, T0 + timedelta(seconds=1)))
    # Published after a later event (a slow relay), occurred before the moment: it counts.
    _offer(cut, _registered(later_published_early, T0))
    assert cut.events == 2
    assert cut.first_event == T0 - timedelta(hours=1)
    assert await _registered_in_village(cut) == 2


async def test_an_event_id_counts_once_even_if_republished() -> None:
    cut = Cut([COVERAGE], T0, keyring=None, namespace="qd")
    first = _registered("p-1", T0 - timedelta(hours=1), event_id="01a226a0-0000-7000-8000-000000000001")
    _offer(cut, first)
    _offer(cut, first)
    assert cut.events == 1


async def test_only_genuine_events_enter_a_moment() -> None:
    signer, stranger = Signer.generate(), Signer.generate()
    ring = KeyRing([signer.public("registry", "federation", frozenset())])
    cut = Cut([COVERAGE], T0, keyring=ring, namespace="qd")
    before = T0 - timedelta(hours=1)
    _offer(cut, signer.sign(_registered("p-genuine", before).sealed("")))
    _offer(cut, stranger.sign(_registered("p-forged", before).sealed("")))  # a key nobody trusts
    _offer(cut, _registered("p-unsigned", before).sealed(""))
    genuine = signer.sign(_registered("p-edited", before).sealed(""))
    _offer(cut, genuine.model_copy(update={"data": {**genuine.data, "village_code": "511403003001"}}))
    assert cut.events == 1
    assert await _registered_in_village(cut) == 1


def test_a_moment_in_the_future_or_without_an_offset_is_refused() -> None:
    with pytest.raises(InvalidInput, match="future"):
        check_requested(T0 + timedelta(seconds=1), now=T0)
    with pytest.raises(InvalidInput, match="UTC offset"):
        check_requested(datetime(2026, 3, 1, 8, 0), now=T0)
    assert check_requested(T0.astimezone(timezone(timedelta(hours=8))), now=T0) == T0


class FakeReplays:
    """Stands in for the stream replay: the first event at ``first``, ``rows`` rows per moment."""

    def __init__(self, first: datetime | None, rows: int) -> None:
        self.first, self.rows, self.calls = first, rows, 0

    async def __call__(self, as_of: datetime, *_args: Any, **_kwargs: Any) -> Moment:
        self.calls += 1
        cut = Cut([COVERAGE], as_of, keyring=None, namespace="qd")
        engine, _ = await cut.load([coverage_metadata])
        return Moment(as_of, engine, self.rows, 0, self.first, {})


def _moments(max_rows: int) -> Moments:
    return Moments([COVERAGE], [coverage_metadata], nats_url="nats://unused", namespace="qd", keyring=None,
                   max_rows=max_rows)


async def test_a_moment_before_the_first_event_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(as_of_module, "replay_moment", FakeReplays(first=T0, rows=1))
    moments = _moments(max_rows=10)
    with pytest.raises(InvalidInput, match="before the first event"):
        await moments.get(T0 - timedelta(seconds=1), now=T0 + timedelta(days=1))
    assert (await moments.get(T0, now=T0 + timedelta(days=1))).as_of == T0
    await moments.close()


async def test_moments_are_cached_least_recently_used_out_within_their_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    replays = FakeReplays(first=T0, rows=4)
    monkeypatch.setattr(as_of_module, "replay_moment", replays)
    moments = _moments(max_rows=10)  # room for two moments of 4 rows
    now = T0 + timedelta(days=1)
    a, b, c = (T0 + timedelta(hours=h) for h in (1, 2, 3))
    await moments.get(a, now=now)
    await moments.get(b, now=now)
    await moments.get(a, now=now)  # a is now the most recently used
    assert replays.calls == 2
    await moments.get(c, now=now)  # evicts b
    assert (len(moments), moments.rows) == (2, 8)
    await moments.get(a, now=now)
    assert replays.calls == 3
    await moments.get(b, now=now)
    assert replays.calls == 4
    await moments.close()
