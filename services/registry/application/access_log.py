"""The access log: every read of personal data in clear, for auditors to query and export.

A read use case says which persons it showed in clear (:class:`Access`); the route records them
through the service's writer before it answers, so that no personal data leaves without its
record. Erasure does not touch the log: it names persons only by their opaque id.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import access_log
from services.registry.application import access
from shared.auth import Principal
from shared.envelope import utcnow
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id

What = Literal["details", "list", "lookup", "plan"]
COLUMNS = ("at", "staff_id", "roles", "route", "what", "person_id")


@dataclass(frozen=True)
class Access:
    """One person's personal data shown in clear (``person_id`` None: a lookup that found no one)."""

    what: What
    person_id: str | None


async def record(uow: UnitOfWork, principal: Principal, route: str, accesses: Sequence[Access]) -> int:
    """Write one log row per access (a use case without events); the number written."""
    now = utcnow()
    roles = ",".join(sorted(r.value for r in principal.roles))
    for item in accesses:
        await uow.insert(access_log, {"entry_id": new_id(), "at": now, "staff_id": principal.staff_id,
                                      "roles": roles, "route": route, "what": item.what,
                                      "person_id": item.person_id})
    return len(accesses)


@dataclass(frozen=True)
class LogFilter:
    """What an auditor asks the log for; every part optional."""

    staff_id: str | None = None
    person_id: str | None = None
    route: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def query(
    conn: AsyncConnection, principal: Principal, which: LogFilter, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Log entries, newest first, for auditors and federation admins."""
    access.require(access.ACCESS_LOG, principal)
    stmt = select(access_log).order_by(access_log.c.at.desc(), access_log.c.entry_id.desc())
    for column, value in (("staff_id", which.staff_id), ("person_id", which.person_id), ("route", which.route)):
        if value is not None:
            stmt = stmt.where(access_log.c[column] == value)
    if which.since is not None:
        stmt = stmt.where(access_log.c.at >= which.since)
    if which.until is not None:
        stmt = stmt.where(access_log.c.at < which.until)
    rows = await conn.execute(stmt.limit(limit).offset(offset))
    return [{"entry_id": r.entry_id, "at": r.at.isoformat(), "staff_id": r.staff_id,
             "roles": [x for x in r.roles.split(",") if x], "route": r.route, "what": r.what,
             "person_id": r.person_id} for r in rows]


def _cells(entry: dict[str, Any]) -> list[str]:
    return [",".join(entry[c]) if c == "roles" else str(entry[c] or "") for c in COLUMNS]


def to_csv(entries: Sequence[dict[str, Any]]) -> bytes:
    """The entries as CSV (UTF-8 with BOM, so that spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(_cells(e) for e in entries)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(entries: Sequence[dict[str, Any]]) -> bytes:
    """The entries as an Excel workbook, one row per entry."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "access log"
    sheet.append(list(COLUMNS))
    for entry in entries:
        sheet.append(_cells(entry))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

