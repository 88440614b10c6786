"""The reminder scheduler on the run's database: each key sent once, also by two schedulers at once;
failures recorded and retried with back-off; a send abandoned mid-way taken back; a moved due date
reminded again. The channels here are recording stand-ins (the real SMTP and webhook channels are
tested end to end in tests/e2e/test_reminders_e2e.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections.plan_items import PLAN_ITEMS
from services.reporting.projections.reminder_staff import REMINDER_STAFF
from services.reporting.projections.reminder_staff import metadata as staff_metadata
from services.reporting.read_models import SCHEMA
from services.reporting.reminders import store
from services.reporting.reminders.channels import ChannelError
from services.reporting.reminders.scheduler import ReminderPolicy, ReminderScheduler
from services.reporting.reminders.selection import Channel, Planned, ReminderKey
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.db import create_engine
from shared.projection import Projection, apply_sql
from shared.testing.envelopes import envelope_for
from shared.testing.servers import wait_until

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 10)
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
TOWNSHIP, VILLAGE = "511403100000", "511403100001"


class Recording:
    """A channel that records what it was asked to send, optionally failing or waiting first."""

    def __init__(self, name: Channel, *, fail: int = 0, gate: asyncio.Event | None = None) -> None:
        self.name: Channel = name
        self.sent: list[Planned] = []
        self.fail = fail
        self.gate = gate

    async def send(self, planned: Planned, today: date) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise ChannelError(f"{'smtp' if self.name == 'email' else 'webhook'}: refused")
        self.sent.append(planned)


def _item(item_id: str, due_on: date) -> ev.PlanItemAdded:
    return ev.PlanItemAdded(plan_id="plan-1", person_id="p1", year=2026, item_id=item_id, kind="protection",
                            need="rehabilitation", responsible_department="health", due_on=due_on)


EVENTS: list[tuple[Projection, EventPayload]] = [
    (PLAN_ITEMS, ev.PersonRegistered.model_validate({
        "person_id": "p1", "village_code": VILLAGE, "township_code": TOWNSHIP, "sex": "female", "birth_year": 1960,
        "category": 4, "grade": 2, "severe": True, "registered_on": "2020-01-01", "sealed": {}})),
    (PLAN_ITEMS, _item("soon", TODAY + timedelta(days=2))),
    (PLAN_ITEMS, _item("later", TODAY + timedelta(days=20))),
    (REMINDER_STAFF, ev.StaffEnrolled(staff_id="health-1", display_name="h", department="health",
                                      roles=["department_officer"])),
    (REMINDER_STAFF, ev.StaffContactSet(staff_id="health-1", email="h1@example.org", webhook_recipient="1380000")),
    (REMINDER_STAFF, ev.StaffEnrolled(staff_id="viewer", display_name="v", department="health", roles=["viewer"])),
    (REMINDER_STAFF, ev.StaffContactSet(staff_id="viewer", email="v@example.org")),
]


async def _apply(engine: AsyncEngine, projection: Projection, event: EventPayload) -> None:
    async with engine.begin() as conn:
        await apply_sql(conn, projection.changes(envelope_for(event, version=1, time=NOW), event))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        for metadata in SCHEMA:
            await conn.run_sync(metadata.create_all)
    for projection, event in EVENTS:
        await _apply(engine, projection, event)
    yield engine
    await engine.dispose()


def _scheduler(engine: AsyncEngine, *channels: Recording, now: datetime = NOW) -> ReminderScheduler:
    return ReminderScheduler(engine, channels, ReminderPolicy(lead_days=3, retry_after=timedelta(minutes=5),
                                                              max_attempts=3, stale_after=timedelta(minutes=10)),
                             today=lambda: TODAY, now=lambda: now)


async def _rows(engine: AsyncEngine) -> list[tuple[str, str, str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(store.reminders_sent).order_by(store.reminders_sent.c.channel))
        return [(r.item_id, r.channel, r.status, r.attempts) for r in rows]


def test_the_reminder_tables_are_in_the_reporting_schema() -> None:
    assert store.metadata in SCHEMA and staff_metadata in SCHEMA


async def test_each_due_item_is_sent_once_per_channel_and_recorded(engine: AsyncEngine) -> None:
    mail, hook = Recording("email"), Recording("webhook")
    result = await _scheduler(engine, mail, hook).run_once()
    assert (result.sent, result.failed) == (2, 0)
    assert [(p.key.item_id, p.address) for p in mail.sent] == [("soon", "h1@example.org")]
    assert [(p.key.item_id, p.address) for p in hook.sent] == [("soon", "1380000")]
    assert await _rows(engine) == [("soon", "email", "sent", 1), ("soon", "webhook", "sent", 1)]
    # a second pass, or a new scheduler (a restart), sends nothing again
    assert (await _scheduler(engine, mail, hook).run_once()).sent == 0
    assert len(mail.sent) == len(hook.sent) == 1


async def test_two_schedulers_at_once_send_each_key_once(engine: AsyncEngine) -> None:
    gate = asyncio.Event()
    first, second = Recording("email", gate=gate), Recording("email", gate=gate)
    one, other = _scheduler(engine, first), _scheduler(engine, second)
    passes = asyncio.gather(one.run_once(), other.run_once())
    # the winner holds its claim at the gate while the loser's whole pass finds the key taken
    await wait_until(lambda: one.passes + other.passes == 1, timeout=10, message="the losing pass to end")
    gate.set()
    results = await passes
    assert len(first.sent) + len(second.sent) == 1
    # the loser either lost the insert (skipped) or already saw the winner's claim (nothing planned)
    assert sorted(r.sent for r in results) == [0, 1]


async def test_a_failure_is_recorded_and_retried_with_back_off_until_it_is_sent(engine: AsyncEngine) -> None:
    mail, hook = Recording("email"), Recording("webhook", fail=1)
    result = await _scheduler(engine, mail, hook).run_once()
    assert (result.sent, result.failed) == (1, 1)  # the failing gateway did not hold up the e-mail
    assert await _rows(engine) == [("soon", "email", "sent", 1), ("soon", "webhook", "failed", 1)]
    async with engine.connect() as conn:
        table = store.reminders_sent
        row = (await conn.execute(select(table).where(table.c.channel == "webhook"))).one()
    assert row.last_error == "webhook: refused"
    assert row.next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(minutes=5)
    # not before its time ...
    assert (await _scheduler(engine, mail, hook, now=NOW + timedelta(minutes=4)).run_once()).sent == 0
    # ... then sent, once
    assert (await _scheduler(engine, mail, hook, now=NOW + timedelta(minutes=5)).run_once()).sent == 1
    assert await _rows(engine) == [("soon", "email", "sent", 1), ("soon", "webhook", "sent", 2)]
    assert [p.key.item_id for p in hook.sent] == ["soon"]


async def test_after_the_last_attempt_a_reminder_is_abandoned(engine: AsyncEngine) -> None:
    hook = Recording("webhook", fail=10)
    for minutes in (0, 5, 15, 35):  # 5 min, doubled after each failure
        await _scheduler(engine, hook, now=NOW + timedelta(minutes=minutes)).run_once()
    assert await _rows(engine) == [("soon", "webhook", "abandoned", 3)]
    assert hook.fail == 7


async def test_a_send_abandoned_by_a_dead_process_is_taken_back_when_stale(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        key = ReminderKey("plan_item", "soon", TODAY + timedelta(days=2), "health-1", "email")
        assert await store.claim(conn, key, "t", "dead:1", NOW)
    mail = Recording("email")
    assert (await _scheduler(engine, mail, now=NOW + timedelta(minutes=9)).run_once()).sent == 0
    assert (await _scheduler(engine, mail, now=NOW + timedelta(minutes=11)).run_once()).sent == 1
    assert await _rows(engine) == [("soon", "email", "sent", 1)]


async def test_a_moved_due_date_is_reminded_again_and_a_delivered_item_not_at_all(engine: AsyncEngine) -> None:
    mail = Recording("email")
    await _scheduler(engine, mail).run_once()
    async with engine.begin() as conn:  # the due date moves (a new item event with the same id)
        await apply_sql(conn, PLAN_ITEMS.changes(envelope_for(_item("soon", TODAY + timedelta(days=1)), version=9),
                                                 _item("soon", TODAY + timedelta(days=1))))
    await _scheduler(engine, mail).run_once()
    assert [p.key.due_on for p in mail.sent] == [TODAY + timedelta(days=2), TODAY + timedelta(days=1)]
    await _apply(engine, PLAN_ITEMS, _item("other", TODAY + timedelta(days=1)))
    await _apply(engine, PLAN_ITEMS, ev.PlanItemDelivered(plan_id="plan-1", person_id="p1", year=2026,
                                                          item_id="other", delivered_on=TODAY))
    assert (await _scheduler(engine, mail).run_once()).sent == 0


async def test_no_channel_sends_nothing_and_records_nothing(engine: AsyncEngine) -> None:
    assert (await _scheduler(engine).run_once()).sent == 0
    assert await _rows(engine) == []


async def test_a_disabled_member_of_staff_is_sent_nothing(engine: AsyncEngine) -> None:
    await _apply(engine, REMINDER_STAFF, ev.StaffDisabled(staff_id="health-1"))
    mail = Recording("email")
    assert (await _scheduler(engine, mail).run_once()).sent == 0
    async with engine.begin() as conn:
        await conn.execute(update(store.reminders_sent).values(status="sent"))  # nothing to update either
    assert await _rows(engine) == []
