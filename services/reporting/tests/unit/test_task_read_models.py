"""The task and highlight read models (pure projections) and the scoreboard's arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.reporting.projections.highlights import HIGHLIGHTS, rpt_highlights, rpt_publicity
from services.reporting.projections.tasks import TASKS, rpt_tasks
from services.reporting.queries.tasks import Tally, rank
from shared.catalogue import EventPayload
from shared.catalogue import worklists as ev
from shared.projection import MemoryModel, Projection
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

KEY = {"task_id": "t1", "month": "2026-03", "responsible_department": "health"}
ISSUED = ev.TaskIssued(**KEY, list_id="tasklist-federation-2026-03", issuer_department="federation", title="签约",
                       description="d", metric="签约人数", unit="人", target_value=10,
                       complete_when_target_reached=False, issued_on=date(2026, 3, 1), deadline=date(2026, 3, 25))
PROGRESS = ev.TaskProgressReported(**KEY, value_reached=6, target_value=10, reported_on=date(2026, 3, 10))
EXTENDED = ev.TaskDeadlineExtended(**KEY, previous_deadline=date(2026, 3, 25), new_deadline=date(2026, 4, 5),
                                   reason="延期", extended_on=date(2026, 3, 20))
COMPLETED = ev.TaskCompleted(**KEY, completed_on=date(2026, 3, 28), how="reported", deadline=date(2026, 3, 25),
                             on_time=False)
CANCELLED = ev.TaskCancelled(**KEY, reason="合并", cancelled_on=date(2026, 3, 29))


def replay(projection: Projection, *events: EventPayload) -> MemoryModel:
    model = MemoryModel(projection.tables)
    for version, event in enumerate(events, start=1):
        assert event.event_type in projection.event_types
        envelope = envelope_for(event, version=version, time=datetime(2026, 3, 30, tzinfo=UTC), department="health")
        model.apply(projection.changes(envelope, event))
    return model


def test_a_task_row_gathers_both_instances_events() -> None:
    (row,) = replay(TASKS, ISSUED, PROGRESS, EXTENDED, COMPLETED).table_rows(rpt_tasks)
    assert (row["value_reached"], row["deadline"], row["extended"]) == (6, date(2026, 4, 5), True)
    assert (row["completed_on"], row["on_time"], row["cancelled_on"]) == (date(2026, 3, 28), False, None)


def test_the_row_is_the_same_whichever_instance_published_first() -> None:
    one = replay(TASKS, ISSUED, PROGRESS, COMPLETED, EXTENDED, CANCELLED).table_rows(rpt_tasks)
    other = replay(TASKS, ISSUED, EXTENDED, CANCELLED, PROGRESS, COMPLETED).table_rows(rpt_tasks)
    assert one == other


def test_a_fresh_task_has_made_no_progress() -> None:
    (row,) = replay(TASKS, ISSUED).table_rows(rpt_tasks)
    assert (row["value_reached"], row["extended"], row["completed_on"]) == (0.0, False, None)


def test_the_highlights_wall_follows_the_review_and_publicity() -> None:
    hid = {"highlight_id": "h1", "department": "health"}
    model = replay(HIGHLIGHTS,
                   ev.HighlightSubmitted(**hid, title="五维一体", description="d", tags=["康复"],
                                         evidence=["https://example.org/e"], submitted_on=date(2026, 3, 1)),
                   ev.HighlightApproved(**hid, approved_on=date(2026, 3, 2)),
                   ev.HighlightFeatured(**hid, featured_on=date(2026, 3, 3)),
                   ev.PublicityItemListed(item_id="p1", department="health", title="报道", channel="微信公众号",
                                          published_on=date(2026, 3, 4), highlight_id="h1"),
                   ev.PublicityItemWithdrawn(item_id="p1", department="health", reason="重复"))
    (highlight,) = model.table_rows(rpt_highlights)
    assert (highlight["status"], highlight["approved_on"], highlight["tags"]) == ("featured", date(2026, 3, 2),
                                                                                   '["康复"]')
    (item,) = model.table_rows(rpt_publicity)
    assert (item["withdrawn"], item["withdraw_reason"]) == (True, "重复")


def test_rates_count_cancelled_tasks_nowhere_and_not_yet_due_tasks_only_in_completion() -> None:
    tally = Tally(tasks=10, open=4, completed_on_time=4, completed_late=2, overdue=1, due_soon=2, cancelled=3)
    body = tally.as_json()
    assert body["completed"] == 6 and body["completion_rate"] == 0.6
    assert body["on_time_rate"] == round(4 / 7, 4)
    assert Tally().as_json()["completion_rate"] is None and Tally().as_json()["on_time_rate"] is None


def test_the_scoreboard_ranks_on_time_first_and_shares_ranks_on_ties() -> None:
    entries: list[dict[str, Any]] = [
        {"department": "a", "on_time_rate": 0.5, "completion_rate": 0.9, "overdue": 1},
        {"department": "b", "on_time_rate": 0.9, "completion_rate": 0.5, "overdue": 3},
        {"department": "c", "on_time_rate": 0.5, "completion_rate": 0.9, "overdue": 1},
        {"department": "d", "on_time_rate": None, "completion_rate": None, "overdue": 0},
    ]
    assert [(e["department"], e["rank"]) for e in rank(entries)] == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]
