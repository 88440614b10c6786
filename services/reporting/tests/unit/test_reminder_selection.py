"""The due-selection of reminders: which items, which staff, which channels, and never a key twice."""

from __future__ import annotations

from datetime import date, timedelta

from services.reporting.reminders.selection import (
    OpenItem,
    ReminderKey,
    StaffMember,
    falling_due,
    items_of,
    reminders_due,
    responsible,
    township_of,
)

TODAY = date(2026, 6, 10)
TOWNSHIP, OTHER_TOWNSHIP = "511403100000", "511403101000"

HEALTH = StaffMember("health-1", "health", frozenset({"department_officer"}), email="h1@example.org",
                     webhook_recipient="13800000001")
HEALTH_MAIL_ONLY = StaffMember("health-2", "health", frozenset({"department_officer"}), email="h2@example.org")
HEALTH_NO_CONTACT = StaffMember("health-3", "health", frozenset({"department_officer"}))
HEALTH_DISABLED = StaffMember("health-4", "health", frozenset({"department_officer"}), active=False,
                              email="h4@example.org")
HEALTH_VIEWER = StaffMember("health-5", "health", frozenset({"viewer"}), email="h5@example.org")
HEALTH_OTHER_TOWNSHIP = StaffMember("health-6", "health", frozenset({"department_officer"}),
                                    township_code=OTHER_TOWNSHIP, email="h6@example.org")
CIVIL = StaffMember("civil-1", "civil_affairs", frozenset({"department_officer"}), email="c1@example.org")
TOWNSHIP_OFFICER = StaffMember("township-1", "federation", frozenset({"township_officer"}), township_code=TOWNSHIP,
                               email="t1@example.org")
ADMIN = StaffMember("admin", "federation", frozenset({"federation_admin"}), email="admin@example.org")
STAFF = [HEALTH, HEALTH_MAIL_ONLY, HEALTH_NO_CONTACT, HEALTH_DISABLED, HEALTH_VIEWER, HEALTH_OTHER_TOWNSHIP, CIVIL,
         TOWNSHIP_OFFICER, ADMIN]


def item(kind: str = "plan_item", item_id: str = "item-1", days: int = 2, department: str = "health",
         township: str | None = TOWNSHIP) -> OpenItem:
    return OpenItem(kind, item_id, "title", TODAY + timedelta(days=days), department, township)  # type: ignore[arg-type]


def test_falling_due_is_today_up_to_the_lead_time_inclusive() -> None:
    assert [d for d in range(-2, 6) if falling_due(item(days=d), TODAY, 3)] == [0, 1, 2, 3]
    assert falling_due(item(days=0), TODAY, 0)


def test_a_plan_item_reminds_its_departments_officers_in_scope_and_the_persons_township_officer() -> None:
    assert [m.staff_id for m in responsible(item(), STAFF)] == ["health-1", "health-2", "health-3", "township-1"]


def test_a_task_or_rectification_reminds_only_the_departments_officers() -> None:
    for kind in ("task", "rectification"):
        assert [m.staff_id for m in responsible(item(kind), STAFF)] == ["health-1", "health-2", "health-3"]
    # an item in no township reaches no officer limited to one township
    assert [m.staff_id for m in responsible(item("task", township=None), STAFF)] == ["health-1", "health-2", "health-3"]
    assert [m.staff_id for m in responsible(item("task", township=OTHER_TOWNSHIP), STAFF)] == [
        "health-1", "health-2", "health-3", "health-6"]


def test_one_reminder_per_staff_and_channel_they_have_an_address_for() -> None:
    planned = reminders_due([item()], STAFF, today=TODAY, lead_days=3, channels=("email", "webhook"), recorded=set())
    assert sorted((p.key.staff_id, p.key.channel, p.address) for p in planned) == [
        ("health-1", "email", "h1@example.org"), ("health-1", "webhook", "13800000001"),
        ("health-2", "email", "h2@example.org"), ("township-1", "email", "t1@example.org")]


def test_only_the_configured_channels_and_none_without_any() -> None:
    planned = reminders_due([item()], STAFF, today=TODAY, lead_days=3, channels=("webhook",), recorded=set())
    assert [(p.key.staff_id, p.key.channel) for p in planned] == [("health-1", "webhook")]
    assert reminders_due([item()], STAFF, today=TODAY, lead_days=3, channels=(), recorded=set()) == []


def test_items_outside_the_lead_time_or_overdue_are_not_sent() -> None:
    items = [item(item_id="late", days=-1), item(item_id="far", days=4), item(item_id="soon", days=3)]
    planned = reminders_due(items, STAFF, today=TODAY, lead_days=3, channels=("email",), recorded=set())
    assert {p.key.item_id for p in planned} == {"soon"}


def test_a_recorded_key_is_never_planned_again_but_a_moved_due_date_is_a_new_key() -> None:
    first = reminders_due([item()], [HEALTH_MAIL_ONLY], today=TODAY, lead_days=3, channels=("email",), recorded=set())
    due = TODAY + timedelta(days=2)
    assert [p.key for p in first] == [ReminderKey("plan_item", "item-1", due, "health-2", "email")]
    recorded = {p.key for p in first}
    assert reminders_due([item()], [HEALTH_MAIL_ONLY], today=TODAY + timedelta(days=1), lead_days=3,
                         channels=("email",), recorded=recorded) == []
    moved = reminders_due([item(days=3)], [HEALTH_MAIL_ONLY], today=TODAY, lead_days=3, channels=("email",),
                          recorded=recorded)
    assert [p.key.due_on for p in moved] == [TODAY + timedelta(days=3)]


def test_my_items_are_those_falling_due_and_overdue_soonest_first() -> None:
    items = [item(item_id="far", days=5), item(item_id="soon", days=1), item(item_id="late", days=-30),
             item(item_id="civil", days=1, department="civil_affairs")]
    assert [i.item_id for i in items_of(HEALTH, items, today=TODAY, lead_days=3)] == ["late", "soon"]
    assert [i.item_id for i in items_of(ADMIN, items, today=TODAY, lead_days=3)] == []


def test_the_township_of_a_unit_code() -> None:
    assert township_of("511403100007") == TOWNSHIP
    assert township_of(TOWNSHIP) == TOWNSHIP
    assert township_of("511403000000") is None
    assert township_of(None) is None
