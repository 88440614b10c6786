"""When open work is overdue or due soon: one rule for the services that decide and the read models
that filter by it (their SQL compares a deadline with :func:`due_soon_until`)."""

from __future__ import annotations

from datetime import date, timedelta

DUE_SOON_DAYS = 7
"""Open work is due soon from this many days before its deadline (the deadline day included)."""


def due_soon_until(today: date) -> date:
    """The last deadline that is due soon on ``today``."""
    return today + timedelta(days=DUE_SOON_DAYS)


def is_overdue(deadline: date, today: date) -> bool:
    """The deadline has passed (whether the work is still open is the caller's question)."""
    return today > deadline


def is_due_soon(deadline: date, today: date) -> bool:
    """The deadline is today or within the next ``DUE_SOON_DAYS`` days."""
    return today <= deadline <= due_soon_until(today)
