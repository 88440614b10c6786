"""Two instances, one task: the issuer's half and the department's half fold to one state, and each
instance copies exactly the other instance's events it needs."""

from __future__ import annotations

from datetime import date
from itertools import permutations

import pytest

from services.checklists.domain import ownership as o
from shared.catalogue.worklists import (
    HighlightApproved,
    HighlightFeatured,
    HighlightSubmitted,
    TaskCancelled,
    TaskCompleted,
    TaskDeadlineExtended,
    TaskIssued,
    TaskProgressReported,
)

pytestmark = pytest.mark.unit

ISSUED = TaskIssued(
    task_id="t1", list_id="tasklist-federation-2025-03", month="2025-03", issuer_department="federation",
    title="家庭医生签约", description="重度残疾人家庭医生签约", responsible_department="health", metric="签约人数",
    unit="人", target_value=10, complete_when_target_reached=False, issued_on=date(2025, 3, 1),
    deadline=date(2025, 3, 25),
)
EXTENDED = TaskDeadlineExtended(task_id="t1", month="2025-03", responsible_department="health",
                                previous_deadline=date(2025, 3, 25), new_deadline=date(2025, 4, 5),
                                reason="专家延期", extended_on=date(2025, 3, 20))
CANCELLED = TaskCancelled(task_id="t1", month="2025-03", responsible_department="health", reason="合并",
                          cancelled_on=date(2025, 3, 22))
PROGRESS = TaskProgressReported(task_id="t1", month="2025-03", responsible_department="health", value_reached=6,
                                target_value=10, reported_on=date(2025, 3, 10))
COMPLETED = TaskCompleted(task_id="t1", month="2025-03", responsible_department="health",
                          completed_on=date(2025, 3, 21), how="reported", deadline=date(2025, 3, 25), on_time=True)
SUBMITTED = HighlightSubmitted(highlight_id="h1", department="health", title="五维一体", description="d",
                               evidence=["https://example.org/e"], submitted_on=date(2025, 3, 1))


def test_stream_ids_name_the_half() -> None:
    assert o.taskwork_stream_id("t1") == "taskwork-t1"
    assert o.highlight_review_stream_id("h1") == "highlightreview-h1"


def test_nothing_is_known_until_the_issue_arrives() -> None:
    assert o.combined_task([], [PROGRESS]) is None
    assert o.combined_highlight([], [HighlightApproved(highlight_id="h1", department="health",
                                                       approved_on=date(2025, 3, 2))]) is None


def test_the_issuers_extension_and_the_departments_progress_combine() -> None:
    task = o.combined_task([ISSUED, EXTENDED], [PROGRESS])
    assert task is not None
    assert (task.deadline, task.value_reached, task.status) == (date(2025, 4, 5), 6, "open")


def test_a_completion_that_raced_a_cancellation_wins_on_every_instance() -> None:
    task = o.combined_task([ISSUED, CANCELLED], [PROGRESS, COMPLETED])
    assert task is not None and task.status == "completed" and task.completed_on == date(2025, 3, 21)


def test_a_cancellation_alone_stands() -> None:
    task = o.combined_task([ISSUED, CANCELLED], [PROGRESS])
    assert task is not None and (task.status, task.cancel_reason) == ("cancelled", "合并")


def test_a_highlight_combines_the_submission_and_the_review() -> None:
    approved = HighlightApproved(highlight_id="h1", department="health", approved_on=date(2025, 3, 2))
    featured = HighlightFeatured(highlight_id="h1", department="health", featured_on=date(2025, 3, 3))
    highlight = o.combined_highlight([SUBMITTED], [approved, featured])
    assert highlight is not None and highlight.status == "featured"


@pytest.mark.parametrize(("event_type", "published_by", "about", "own", "served", "copied"), [
    ("task.issued", "federation", "health", "health", {"health"}, True),
    ("task.issued", "federation", "civil_affairs", "health", {"health"}, False),
    ("task.deadline_extended", "federation", "health", "health", {"health"}, True),
    ("task.cancelled", "federation", "health", "health", {"health"}, True),
    ("tasklist.issued", "federation", "federation", "health", {"health"}, True),
    ("highlight.approved", "federation", "health", "health", {"health"}, True),
    ("highlight.approved", "federation", "education", "health", {"health"}, False),
    ("task.progress_reported", "health", "health", "federation", {"federation"}, True),
    ("task.completed", "health", "health", "federation", {"federation"}, True),
    ("highlight.submitted", "health", "health", "federation", {"federation"}, True),
    ("task.completed", "health", "health", "education", {"education"}, False),
    ("highlight.submitted", "health", "health", "education", {"education"}, False),
    ("task.issued", "federation", "federation", "federation", {"federation"}, False),
    ("publicity.listed", "health", "health", "federation", {"federation"}, False),
    # only the owner of a half is believed: not another department's instance
    ("task.issued", "education", "health", "health", {"health"}, False),
    ("tasklist.issued", "education", "education", "health", {"health"}, False),
    ("highlight.approved", "education", "health", "health", {"health"}, False),
    ("task.completed", "education", "health", "federation", {"federation"}, False),
])
def test_each_instance_copies_only_what_it_needs_from_whom_owns_it(
    event_type: str, published_by: str, about: str, own: str, served: set[str], copied: bool
) -> None:
    assert o.must_replicate(event_type, published_by, about, own_department=own, served=frozenset(served),
                            issuer_department="federation") is copied


def test_the_fold_does_not_depend_on_how_the_halves_interleaved_on_the_bus() -> None:
    issuer, work = [ISSUED, EXTENDED], [PROGRESS, COMPLETED]
    states = set()
    for order in permutations([*issuer[1:], *work]):
        # whatever order the events arrived in, each half keeps its own order
        arrived_issuer = [ISSUED, *(e for e in order if e in issuer)]
        arrived_work = [e for e in order if e in work]
        if arrived_work != work:
            continue
        states.add(o.combined_task(arrived_issuer, arrived_work))
    assert len(states) == 1
