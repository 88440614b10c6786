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
from shared.errors import InvalidInput
from shared.http.bounds import DayBounds, Offset
from shared.http.deps import ReadConnection

reminders_router = APIRouter(tags=["reminders"])

Today = Annotated[date | None, Query(description="Judge falling due and overdue as of this day (default: today)"),
                  DayBounds]


def _scheduler(request: Request) -> ReminderScheduler:
    scheduler: ReminderScheduler = request.app.state.reminders
    return scheduler


AFTER = ("The previous page's `next_after`: the items after that one (keyset paging: items delivered "
         "meanwhile make none skipped or repeated)")


def cursor_of(due_on: date, kind: str, item_id: str) -> str:
    """The position of an item in the list (its sort key), as ``after`` takes it back."""
    return f"{due_on.isoformat()}/{kind}/{item_id}"


def _position(after: str) -> tuple[date, str, str]:
    due_on, _, rest = after.partition("/")
    kind, _, item_id = rest.partition("/")
    try:
        return date.fromisoformat(due_on), kind, item_id
    except ValueError:
        raise InvalidInput("after: not a position in this list (pass the previous page's next_after)",
                           field="after") from None


@reminders_router.get("/reminders/mine", summary="My items falling due within the lead time or overdue, "
                      "with the reminders sent about them, a page at a time")
async def my_reminders(
    request: Request, who: CurrentPrincipal, conn: ReadConnection, today: Today = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 100,
    after: Annotated[str | None, Query(max_length=200, description=AFTER)] = None,
) -> s.MyReminders:
    scheduler = _scheduler(request)
    day = today or date.today()
    lead = scheduler.policy.lead_days
    # The token's department, roles and township are the directory's (checked on every request).
    me = StaffMember(staff_id=who.staff_id, department=who.department, roles=frozenset(r.value for r in who.roles),
                     township_code=who.township_code)
    mine = items_of(me, await open_items(conn, until=day + timedelta(days=lead)), today=day, lead_days=lead)
    if after is not None:  # the list is sorted by this same key (due day, kind, item)
        start = _position(after)
        mine = [i for i in mine if (i.due_on, i.kind, i.item_id) > start]
    more = len(mine) > limit
    mine = mine[:limit]
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
        "channels": [c.name for c in scheduler.channels], "items": rows,
        "next_after": cursor_of(mine[-1].due_on, mine[-1].kind, mine[-1].item_id) if more else None})


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
