"""``reminders_sent``: one row per reminder, claimed before it is sent, with its outcome after.

The primary key is the :class:`~services.reporting.reminders.selection.ReminderKey` (item kind,
item id, due date, staff id, channel). A sender first **claims** the key by inserting the row
(status ``sending``); the insert that loses a race with another process (or finds the row of an
earlier run) inserts nothing, so only one sender ever sends a key. After sending it records the
outcome: ``sent``, or ``failed`` with the error and a time for the next attempt, when a sender
takes the row back with a conditional update (again only one wins). After ``max_attempts``
failures it is ``abandoned``. A row left ``sending`` by a process that died mid-send is taken back
after ``stale_after`` seconds: delivery is **at least once** (docs/reminders.md).

This table is not a read model: no projection writes it and a rebuild leaves it alone, so that a
rebuilt read model never sends its reminders again. No address is stored, only the staff id and
the channel (the address is personal data and may change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.reminders.selection import ReminderKey

metadata = MetaData()

reminders_sent = Table(
    "reminders_sent", metadata,
    Column("item_kind", String(16), primary_key=True),
    Column("item_id", String(80), primary_key=True),
    Column("due_on", Date, primary_key=True),
    Column("staff_id", String(50), primary_key=True),
    Column("channel", String(10), primary_key=True),
    Column("title", String(300), nullable=False),
    Column("status", String(10), nullable=False),  # sending | sent | failed | abandoned
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(100), nullable=False),  # host:pid of the process that sends it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Index("ix_reminders_sent_created", "created_at"),
    Index("ix_reminders_sent_staff", "staff_id", "item_kind", "item_id"),
)

STATUSES = ("sending", "sent", "failed", "abandoned")


def _key_values(key: ReminderKey) -> dict[str, Any]:
    return {"item_kind": key.item_kind, "item_id": key.item_id, "due_on": key.due_on, "staff_id": key.staff_id,
            "channel": key.channel}


def _where_key(key: ReminderKey) -> Any:
    return and_(*(reminders_sent.c[k] == v for k, v in _key_values(key).items()))


async def recorded_keys(conn: AsyncConnection, since: date) -> set[ReminderKey]:
    """Keys of every reminder recorded for due dates from ``since`` on (whatever its status)."""
    columns = (reminders_sent.c[k] for k in ("item_kind", "item_id", "due_on", "staff_id", "channel"))
    rows = await conn.execute(select(*columns).where(reminders_sent.c.due_on >= since))
    return {ReminderKey(r.item_kind, r.item_id, r.due_on, r.staff_id, r.channel) for r in rows}


async def claim(conn: AsyncConnection, key: ReminderKey, title: str, owner: str, now: datetime) -> bool:
    """Insert the key as ``sending``; False if a row for it exists already (someone else sends it)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(reminders_sent).values(
        **_key_values(key), title=title[:300], status="sending", attempts=0, claimed_by=owner, created_at=now,
        updated_at=now).on_conflict_do_nothing(index_elements=list(_key_values(key)))
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def reclaim(conn: AsyncConnection, key: ReminderKey, owner: str, now: datetime, stale_before: datetime) -> bool:
    """Take back a failed row whose retry is due, or a ``sending`` row abandoned by a dead process;
    True if this process won it (a conditional update: of two processes, one)."""
    result = await conn.execute(
        update(reminders_sent).where(_where_key(key), or_(
            and_(reminders_sent.c.status == "failed", reminders_sent.c.next_attempt_at <= now),
            and_(reminders_sent.c.status == "sending", reminders_sent.c.updated_at < stale_before)))
        .values(status="sending", claimed_by=owner, updated_at=now))
    return bool(result.rowcount)


async def retry_keys(conn: AsyncConnection, now: datetime, stale_before: datetime, since: date) -> list[ReminderKey]:
    """Keys whose failed send may be tried again now, or whose sender died mid-send."""
    rows = await conn.execute(select(reminders_sent).where(reminders_sent.c.due_on >= since, or_(
        and_(reminders_sent.c.status == "failed", reminders_sent.c.next_attempt_at <= now),
        and_(reminders_sent.c.status == "sending", reminders_sent.c.updated_at < stale_before))))
    return [ReminderKey(r.item_kind, r.item_id, r.due_on, r.staff_id, r.channel) for r in rows]


async def record_sent(conn: AsyncConnection, key: ReminderKey, now: datetime) -> None:
    """The channel accepted the reminder."""
    await conn.execute(update(reminders_sent).where(_where_key(key)).values(
        status="sent", attempts=reminders_sent.c.attempts + 1, sent_at=now, updated_at=now, next_attempt_at=None,
        last_error=None))


async def record_failed(conn: AsyncConnection, key: ReminderKey, error: str, now: datetime, *,
                        retry_after: timedelta, max_attempts: int) -> str:
    """The channel refused or could not be reached; the status recorded (``failed`` or ``abandoned``)."""
    row = (await conn.execute(select(reminders_sent.c.attempts).where(_where_key(key)))).first()
    attempts = (row.attempts if row else 0) + 1
    status = "abandoned" if attempts >= max_attempts else "failed"
    await conn.execute(update(reminders_sent).where(_where_key(key)).values(
        status=status, attempts=attempts, updated_at=now, last_error=error[:500],
        next_attempt_at=None if status == "abandoned" else now + retry_after * (2 ** (attempts - 1))))
    return status


@dataclass(frozen=True)
class SentFilter:
    """Which recorded reminders to list."""

    staff_id: str | None = None
    status: str | None = None
    channel: str | None = None


def _row(r: Row[Any]) -> dict[str, Any]:
    return {c: getattr(r, c) for c in ("item_kind", "item_id", "due_on", "staff_id", "channel", "title", "status",
                                       "attempts", "created_at", "sent_at", "next_attempt_at", "last_error")}


async def list_sent(conn: AsyncConnection, f: SentFilter, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of recorded reminders, newest first, with the total matching."""
    where = [reminders_sent.c[c] == v for c, v in (("staff_id", f.staff_id), ("status", f.status),
                                                    ("channel", f.channel)) if v is not None]
    total = (await conn.execute(select(func.count()).select_from(reminders_sent).where(*where))).scalar_one()
    rows = await conn.execute(select(reminders_sent).where(*where).order_by(
        reminders_sent.c.created_at.desc(), reminders_sent.c.item_id, reminders_sent.c.staff_id,
        reminders_sent.c.channel).limit(limit).offset(offset))
    return {"total": total, "limit": limit, "offset": offset, "reminders": [_row(r) for r in rows]}


async def sent_for(conn: AsyncConnection, staff_id: str, item_ids: set[str]) -> list[dict[str, Any]]:
    """What was recorded for ``staff_id`` about these items (any due date)."""
    if not item_ids:
        return []
    rows = await conn.execute(select(reminders_sent).where(
        reminders_sent.c.staff_id == staff_id, reminders_sent.c.item_id.in_(item_ids)))
    return [_row(r) for r in rows]
