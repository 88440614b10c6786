"""The reminder scheduler: a supervised task of reporting that sends each due reminder once.

A pass (:meth:`ReminderScheduler.run_once`) reads the open items falling due within the lead time,
the staff responsible for them and the keys already recorded, and for each new key **claims** it
in ``reminders_sent`` (its own committed insert) *before* sending, then records the outcome. So a
restart, or a second reporting process on the same database, never sends a key again: the second
claim inserts nothing. Failed sends are retried by later passes with back-off (``failed`` rows
whose time has come), and a row left ``sending`` by a process that died mid-send is taken back
after ``stale_after``: delivery is at least once, and a repeat carries the same reminder id.

Passes run when the task starts, when the day changes (the dashboards' day clock), soon after
the read models it reads change (a new item, a moved due date, a new contact address), and every
``interval`` seconds in any case, which is also when failed sends come up for retry.

Each channel is worked through on its own, all at once, so a slow or failing gateway never holds
up e-mail; after :data:`GIVE_UP_AFTER` failures in a row in one pass a channel's remaining
reminders wait for the next pass, unclaimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.reminders import store
from services.reporting.reminders.channels import ReminderChannel
from services.reporting.reminders.items import open_items, reminded_staff
from services.reporting.reminders.selection import Planned, ReminderKey, reminders_due
from shared.db import write_lock, writer
from shared.supervision import Supervised

log = structlog.get_logger(__name__)

GIVE_UP_AFTER = 3
"""Failures in a row after which a channel sends nothing more in this pass."""

WATCHED_TOPICS = frozenset({"clock", "plan_items", "tasks", "ledger", "reminder_staff"})
"""Read models (and the day clock) whose change brings a pass forward."""


@dataclass
class PassResult:
    """What one pass did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    """Claimed by another process first, or deferred because the channel kept failing."""


@dataclass
class ReminderPolicy:
    """The scheduler's settings (docs/configuration.md, ``QD_REMINDER_*``)."""

    lead_days: int = 3
    interval: float = 300.0
    retry_after: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    stale_after: timedelta = timedelta(minutes=10)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ReminderScheduler:
    """Sends due reminders through ``channels`` (none: nothing is sent; the API still shows the items)."""

    engine: AsyncEngine
    channels: Sequence[ReminderChannel]
    policy: ReminderPolicy = field(default_factory=ReminderPolicy)
    today: Callable[[], date] = date.today
    now: Callable[[], datetime] = _utcnow
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def __post_init__(self) -> None:
        self.task = Supervised("reminders", self._run)
        """Supervised: a failing pass (the database away) is logged, retried and shown in /health."""
        self._wake = asyncio.Event()
        self.passes = 0

    def poke(self) -> None:
        """Bring the next pass forward (something it reads changed)."""
        self._wake.set()

    def changed(self, topics: Iterable[str]) -> None:
        """The live hub's listener: a pass soon if a watched read model or the day changed."""
        if WATCHED_TOPICS.intersection(topics):
            self.poke()

    def start(self) -> None:
        """Start the task (it runs a pass at once)."""
        self.task.start()

    async def stop(self) -> None:
        """Stop the task (a send under way is abandoned; its row is taken back after ``stale_after``)."""
        await self.task.stop()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            await self.run_once()
            self.task.recovered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.policy.interval)

    async def run_once(self) -> PassResult:
        """One pass: send every due reminder not yet recorded, and retry those whose time has come."""
        result = PassResult()
        if not self.channels:
            self.passes += 1
            return result
        today, now = self.today(), self.now()
        stale_before = now - self.policy.stale_after
        async with self.engine.connect() as conn:
            items = await open_items(conn, until=today + timedelta(days=self.policy.lead_days), since=today)
            staff = await reminded_staff(conn)
            recorded = await store.recorded_keys(conn, since=today)
            retries = set(await store.retry_keys(conn, now, stale_before, since=today))
        names = [c.name for c in self.channels]
        everything = reminders_due(items, staff, today=today, lead_days=self.policy.lead_days, channels=names,
                                   recorded=set())
        fresh = {p.key for p in reminders_due(items, staff, today=today, lead_days=self.policy.lead_days,
                                              channels=names, recorded=recorded)}
        # a retry only while its item is still open, still due then, and its staff still responsible
        todo = [p for p in everything if p.key in fresh or p.key in retries]
        results = await asyncio.gather(*(self._work(channel, [p for p in todo if p.key.channel == channel.name],
                                                    today, stale_before, fresh)
                                          for channel in self.channels))
        for r in results:
            result.sent += r.sent
            result.failed += r.failed
            result.skipped += r.skipped
        self.passes += 1
        if result.sent or result.failed:
            log.info("reminder pass", sent=result.sent, failed=result.failed, skipped=result.skipped)
        return result

    async def _work(self, channel: ReminderChannel, planned: list[Planned], today: date, stale_before: datetime,
                    fresh: set[ReminderKey]) -> PassResult:
        result = PassResult()
        failures_in_a_row = 0
        for p in planned:
            if failures_in_a_row >= GIVE_UP_AFTER:
                result.skipped += 1
                continue
            if not await self._claim(p, stale_before, fresh):
                result.skipped += 1
                continue
            try:
                await channel.send(p, today)
            except Exception as exc:  # any failure of one send is recorded, never stops the others
                failures_in_a_row += 1
                result.failed += 1
                error = str(exc) if str(exc).startswith(("smtp:", "webhook:")) else type(exc).__name__
                async with write_lock(self.engine), writer(self.engine).begin() as conn:
                    status = await store.record_failed(conn, p.key, error, self.now(),
                                                       retry_after=self.policy.retry_after,
                                                       max_attempts=self.policy.max_attempts)
                log.warning("reminder not sent", item_kind=p.key.item_kind, item_id=p.key.item_id,
                            staff_id=p.key.staff_id, channel=p.key.channel, error=error, status=status)
                continue
            failures_in_a_row = 0
            result.sent += 1
            async with write_lock(self.engine), writer(self.engine).begin() as conn:
                await store.record_sent(conn, p.key, self.now())
            log.info("reminder sent", item_kind=p.key.item_kind, item_id=p.key.item_id, staff_id=p.key.staff_id,
                     channel=p.key.channel, due_on=str(p.key.due_on))
        return result

    async def _claim(self, p: Planned, stale_before: datetime, fresh: set[ReminderKey]) -> bool:
        async with write_lock(self.engine), writer(self.engine).begin() as conn:
            if p.key in fresh:
                return await store.claim(conn, p.key, p.item.title, self.owner, self.now())
            return await store.reclaim(conn, p.key, self.owner, self.now(), stale_before)
