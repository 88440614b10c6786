"""Which reminders are due: pure functions of the open items, the staff, the day and what was sent.

An item is **falling due** on ``today`` when ``today <= due_on <= today + lead_days`` and
**overdue** when ``due_on < today``. Reminders are sent only for items falling due ("before it
falls due"): an item first seen already overdue is shown on ``GET /reminders/mine`` but sent
nothing, so that the first start over a register with years of history sends no flood.

Who is reminded (:func:`responsible`): active staff holding ``department_officer`` in the item's
responsible department (a department officer limited to a township only for items in that
township), and for a plan item also the ``township_officer`` of the person's township, who may
deliver it too. Admins, inspectors, viewers and auditors are never reminded.

One reminder is sent per :class:`ReminderKey` (item, due date, staff member, channel); an item
whose due date moves has a new key, so it is reminded again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

ItemKind = Literal["plan_item", "task", "rectification"]
Channel = Literal["email", "webhook"]

REMINDED_ROLES = frozenset({"department_officer", "township_officer"})
"""The roles whose holders act on items, and so are reminded of them."""


@dataclass(frozen=True)
class OpenItem:
    """An item not yet done: what it is, when it falls due, and who answers for it."""

    kind: ItemKind
    item_id: str
    title: str
    due_on: date
    department: str
    """The responsible department (a rectification's responsible unit)."""
    township_code: str | None = None
    """Where the item is, if it is in one township (the person's, the task's unit's, the entry's)."""


@dataclass(frozen=True)
class StaffMember:
    """A member of staff as the reminders see them (addresses may be missing)."""

    staff_id: str
    department: str
    roles: frozenset[str]
    township_code: str | None = None
    active: bool = True
    email: str | None = None
    webhook_recipient: str | None = None

    def address(self, channel: Channel) -> str | None:
        """Where ``channel`` reaches this member of staff, if anywhere."""
        return self.email if channel == "email" else self.webhook_recipient


@dataclass(frozen=True)
class ReminderKey:
    """What one reminder is about: sent at most once per key (the ``reminders_sent`` primary key)."""

    item_kind: ItemKind
    item_id: str
    due_on: date
    staff_id: str
    channel: Channel


def falling_due(item: OpenItem, today: date, lead_days: int) -> bool:
    """Whether ``item`` falls due within ``lead_days`` from ``today`` (today itself included)."""
    return today <= item.due_on <= today + timedelta(days=lead_days)


def overdue(item: OpenItem, today: date) -> bool:
    """Whether ``item`` is past its due date."""
    return item.due_on < today


def township_of(unit_code: str | None) -> str | None:
    """The township containing a 12-digit org-unit code (a village's parent; a township itself)."""
    if unit_code is None or len(unit_code) != 12 or unit_code[6:9] == "000":
        return None  # no unit, or a district: in no one township
    return unit_code[:9] + "000"


def responsible(item: OpenItem, staff: Iterable[StaffMember]) -> list[StaffMember]:
    """The staff reminded of ``item``, by staff id."""
    chosen = []
    for member in staff:
        if not member.active:
            continue
        in_township = member.township_code is None or member.township_code == item.township_code
        officer = ("department_officer" in member.roles and member.department == item.department
                   and in_township)
        registering = (item.kind == "plan_item" and "township_officer" in member.roles
                       and item.township_code is not None and member.township_code == item.township_code)
        if officer or registering:
            chosen.append(member)
    return sorted(chosen, key=lambda m: m.staff_id)


@dataclass(frozen=True)
class Planned:
    """One reminder to send: its key, the item, and the address it goes to."""

    key: ReminderKey
    item: OpenItem
    staff: StaffMember
    address: str


def reminders_due(
    items: Iterable[OpenItem], staff: Sequence[StaffMember], *, today: date, lead_days: int,
    channels: Iterable[Channel], recorded: set[ReminderKey],
) -> list[Planned]:
    """Every reminder to send now: for each item falling due, each responsible member of staff and
    each configured channel they have an address for, unless a reminder with that key is already
    ``recorded`` (sent, being sent, or failed and waiting for its retry)."""
    channels = tuple(channels)
    planned = []
    for item in sorted(items, key=lambda i: (i.due_on, i.kind, i.item_id)):
        if not falling_due(item, today, lead_days):
            continue
        for member in responsible(item, staff):
            for channel in channels:
                address = member.address(channel)
                if not address:
                    continue
                key = ReminderKey(item.kind, item.item_id, item.due_on, member.staff_id, channel)
                if key not in recorded:
                    planned.append(Planned(key, item, member, address))
    return planned


def items_of(member: StaffMember, items: Iterable[OpenItem], *, today: date, lead_days: int) -> list[OpenItem]:
    """The items ``member`` is reminded of that fall due within the lead time or are overdue, by due date."""
    mine = [i for i in items if (falling_due(i, today, lead_days) or overdue(i, today)) and responsible(i, [member])]
    return sorted(mine, key=lambda i: (i.due_on, i.kind, i.item_id))
