"""Which instance writes which stream, and how the two halves of a shared aggregate fold together.

Every department runs its own checklists instance with its own database, and a stream has exactly
one writer. A task is therefore split in two streams: the issuer's instance writes ``task-{id}``
(issued, deadline extended, cancelled) and the responsible department's instance writes
``taskwork-{id}`` (progress reported, completed). A highlight likewise: the submitting department
writes ``highlight-{id}``, the issuer (the federation) writes ``highlightreview-{id}``. Each instance
reads the other half from the other instance's events on NATS.

The state is the issuer's half folded first, then the department's. The only conflict the two
halves can have is a cancellation racing a completion that neither instance had seen yet; folding
the department's half last makes the completion win — the work was done — and gives the same answer
on every instance, whatever order the events arrived in.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.checklists.domain import highlight, task
from shared.aggregate import fold
from shared.catalogue import EventPayload

ISSUER_TASK_EVENTS = frozenset({"tasklist.issued", "task.issued", "task.deadline_extended", "task.cancelled"})
"""Written by the issuer's instance."""

WORK_TASK_EVENTS = frozenset({"task.progress_reported", "task.completed"})
"""Written by the responsible department's instance."""

REVIEW_EVENTS = frozenset({"highlight.approved", "highlight.rejected", "highlight.featured"})
"""Written by the issuer's instance about another department's highlight."""

SUBMISSION_EVENTS = frozenset({"highlight.submitted"})
"""Written by the submitting department's instance."""


def taskwork_stream_id(task_id: str) -> str:
    """The responsible department's half of a task: its progress reports and completion."""
    return f"taskwork-{task_id}"


def highlight_review_stream_id(highlight_id: str) -> str:
    """The issuer's half of a highlight: approval, rejection, featuring."""
    return f"highlightreview-{highlight_id}"


def combined_task(issuer: Sequence[EventPayload], work: Sequence[EventPayload]) -> task.Task | None:
    """A task's state from both halves (None until its ``task.issued`` is known)."""
    if not issuer:
        return None
    return fold(task.evolve, [*issuer, *work])


def combined_highlight(
    submission: Sequence[EventPayload], review: Sequence[EventPayload]
) -> highlight.Highlight | None:
    """A highlight's state from both halves (None until its ``highlight.submitted`` is known)."""
    if not submission:
        return None
    return fold(highlight.evolve, [*submission, *review])


def must_replicate(event_type: str, event_department: str, subject_department: str, *,
                   own_department: str, served: frozenset[str], issuer_department: str) -> bool:
    """Whether an instance keeps a copy of another instance's event.

    ``event_department`` is the department whose instance published it (the envelope's),
    ``subject_department`` the department it is about (a task's responsible department, a highlight's).
    An instance copies the issuer's events about the departments it serves, and the issuer copies
    every department's work and submissions. Each half is accepted only from the instance that owns
    it: the issuer's half from the issuer, a department's half from that department; an instance's
    own events are in its log already.
    """
    if event_department == own_department:
        return False
    if event_type == "tasklist.issued":
        return event_department == issuer_department
    if event_type in ISSUER_TASK_EVENTS or event_type in REVIEW_EVENTS:
        return event_department == issuer_department and subject_department in served
    if event_type in WORK_TASK_EVENTS or event_type in SUBMISSION_EVENTS:
        return own_department == issuer_department and event_department == subject_department
    return False
