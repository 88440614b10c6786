"""Reminders of plan items, tasks and rectifications falling due (docs/reminders.md)."""
