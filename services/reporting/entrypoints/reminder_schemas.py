"""Response models of the reminder routes (``reminders_http.py``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shared.http.responses import ResponseModel


class SentReminder(ResponseModel):
    """One reminder as recorded: about which item and due date, to whom, by which channel, and how it went."""

    item_kind: str = Field(description="plan_item | task | rectification")
    item_id: str
    due_on: date = Field(description="The due date it reminded of (a moved due date gets a new reminder)")
    staff_id: str
    channel: str = Field(description="email | webhook")
    title: str
    status: str = Field(description="sending | sent | failed (retried later) | abandoned")
    attempts: int
    created_at: datetime = Field(description="When it was claimed for sending")
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None = Field(description="Why the last attempt failed (never an address)")


class SentReminders(ResponseModel):
    """A page of recorded reminders and how many match in all."""

    total: int
    limit: int
    offset: int
    reminders: list[SentReminder]


class MyItem(ResponseModel):
    """An item of mine falling due within the lead time, or overdue, with what was sent about it."""

    kind: str = Field(description="plan_item | task | rectification")
    item_id: str
    title: str
    due_on: date
    department: str
    township_code: str | None
    days_left: int = Field(description="Days until the due date (negative: overdue)")
    overdue: bool
    reminders: list[SentReminder]


class MyReminders(ResponseModel):
    """The signed-in member of staff's items falling due or overdue, soonest first."""

    staff_id: str
    today: date
    lead_days: int
    channels: list[str] = Field(description="Channels this service sends reminders by (none: only shown here)")
    items: list[MyItem]
    next_after: str | None = Field(default=None, description="Pass as `after` for the next page; none: this was "
                                   "the last page")
