"""Reminders: each member of staff's items falling due, and the record of what was sent.

``GET /reminders/mine`` is the API for a page showing a member of staff their own work (the
officer's week page builds on it); ``GET /reminders/sent`` is the admins' record of every reminder
(docs/reminders.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.reporting.access import REMINDERS_SENT
from services.reporting.entrypoints import reminder_schemas as s
from services.reporting.reminders import store
from services.reporting.reminders.items import open_items
from services.reporting.reminders.scheduler import ReminderScheduler
from services.reporting.reminders.selection import StaffMember, items_of, overdue
from shared.auth import CurrentPrincipal
from shared.http.bounds import DayBounds, Offset
from shared.http.deps import ReadConnection

reminders_router = APIRouter(tags=["reminders"])

Today = Annotated[date | None, Query(description="Judge falling due and overdue as of this day (default: today)"),
                  DayBounds]


def _scheduler(request: Request) -> ReminderScheduler:
    scheduler: ReminderScheduler = request.app.state.reminders
    return scheduler


@reminders_router.get("/reminders/mine", summary="My items falling due within the lead time or overdue, "
                      "with the reminders sent about them")
async def my_reminders(
    request: Request, who: CurrentPrincipal, conn: ReadConnection, today: Today = None
) -> s.MyReminders:
    scheduler = _scheduler(request)
    day = today or date.today()
    lead = scheduler.policy.lead_days
    # The token's department, roles and township are the directory's (checked on every request).
    me = StaffMember(staff_id=who.staff_id, department=who.department, roles=frozenset(r.value for r in who.roles),
                     township_code=who.township_code)
    mine = items_of(me, await open_items(conn, until=day + timedelta(days=lead)), today=day, lead_days=lead)
    sent = await store.sent_for(conn, who.staff_id, {i.item_id for i in mine})
    rows = []
    for item in mine:
        records = [r for r in sent if r["item_kind"] == item.kind and r["item_id"] == item.item_id]
        rows.append({"kind": item.kind, "item_id": item.item_id, "title": item.title, "due_on": item.due_on,
                     "department": item.department, "township_code": item.township_code,
                     "days_left": (item.due_on - day).days, "overdue": overdue(item, day),
                     "reminders": sorted(records, key=lambda r: (r["due_on"], r["channel"]))})
    return s.MyReminders.model_validate({
        "staff_id": who.staff_id, "today": day, "lead_days": lead,
        "channels": [c.name for c in scheduler.channels], "items": rows})


@reminders_router.get("/reminders/sent", summary="Every reminder recorded, newest first (admins)")
async def sent_reminders(
    who: CurrentPrincipal, conn: ReadConnection, staff_id: Annotated[str | None, Query(max_length=50)] = None,
    status: Literal["sending", "sent", "failed", "abandoned"] | None = None,
    channel: Literal["email", "webhook"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0,
) -> s.SentReminders:
    REMINDERS_SENT.require(who, "reading the reminders sent")
    page = await store.list_sent(conn, store.SentFilter(staff_id=staff_id, status=status, channel=channel),
                                 limit=limit, offset=offset)
    return s.SentReminders.model_validate(page)
