"""Highlights (特色亮点清单): a department submits a practice worth spreading; the federation reviews it.

submitted → approved → featured, or submitted → rejected (with a reason). Nothing else moves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch
from typing import Literal

from services.checklists.domain import checks
from shared.catalogue import EventPayload
from shared.catalogue.worklists import (
    HighlightApproved,
    HighlightFeatured,
    HighlightRejected,
    HighlightSubmitted,
)
from shared.errors import DomainRuleViolated, InvalidInput

HighlightStatus = Literal["submitted", "approved", "rejected", "featured"]
MAX_TAGS = 10


def highlight_stream_id(highlight_id: str) -> str:
    """One stream per highlight."""
    return f"highlight-{highlight_id}"


@dataclass(frozen=True)
class Highlight:
    """A highlight's state as folded from its stream."""

    highlight_id: str
    department: str
    title: str
    tags: tuple[str, ...]
    submitted_on: date
    status: HighlightStatus = "submitted"
    reject_reason: str | None = None
    featured_on: date | None = None


def evolve(state: Highlight | None, event: EventPayload) -> Highlight:
    """Apply one event to a highlight."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Highlight | None) -> Highlight:
    raise TypeError(f"a highlight stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: HighlightSubmitted, state: Highlight | None) -> Highlight:
    return Highlight(event.highlight_id, event.department, event.title, tuple(event.tags), event.submitted_on)


@_apply.register
def _(event: HighlightApproved, state: Highlight) -> Highlight:
    return replace(state, status="approved")


@_apply.register
def _(event: HighlightRejected, state: Highlight) -> Highlight:
    return replace(state, status="rejected", reject_reason=event.reason)


@_apply.register
def _(event: HighlightFeatured, state: Highlight) -> Highlight:
    return replace(state, status="featured", featured_on=event.featured_on)


def check_tags(tags: list[str]) -> list[str]:
    """Tags: each non-blank and short; duplicates dropped, order kept."""
    result: list[str] = []
    for raw in tags:
        tag = checks.text(raw, "tags", what="a tag", max_length=30)
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags, not {len(result)}", field="tags")
    return result


def submit(
    highlight: Highlight | None,
    *,
    highlight_id: str,
    department: str,
    title: str,
    description: str,
    tags: list[str],
    evidence: list[str],
    submitted_on: date,
    today: date,
) -> list[EventPayload]:
    """A department puts a practice forward for review, with evidence (at least one link)."""
    if highlight is not None:
        raise DomainRuleViolated(f"highlight {highlight_id} already exists")
    links = checks.links(evidence)
    if not links:
        raise InvalidInput("a highlight needs at least one evidence link", field="evidence")
    checks.not_future(submitted_on, today, "submitted_on", what="submission date")
    return [
        HighlightSubmitted(
            highlight_id=highlight_id,
            department=checks.text(department, "department", what="the department"),
            title=checks.text(title, "title", what="the highlight's title"),
            description=checks.text(description, "description", what="a description", max_length=8000),
            tags=check_tags(tags),
            evidence=links,
            submitted_on=submitted_on,
        )
    ]


def _require(highlight: Highlight, expected: HighlightStatus, action: str) -> None:
    if highlight.status != expected:
        detail = f" ({highlight.reject_reason})" if highlight.status == "rejected" else ""
        raise DomainRuleViolated(
            f"cannot {action} highlight {highlight.highlight_id}: it is {highlight.status}{detail}, "
            f"not {expected}"
        )


def approve(highlight: Highlight, *, today: date) -> list[EventPayload]:
    """Accept a submitted highlight."""
    _require(highlight, "submitted", "approve")
    return [HighlightApproved(highlight_id=highlight.highlight_id, department=highlight.department,
                              approved_on=today)]


def reject(highlight: Highlight, *, reason: str, today: date) -> list[EventPayload]:
    """Turn a submitted highlight down, with a reason."""
    _require(highlight, "submitted", "reject")
    why = checks.text(reason, "reason", what="a reason for rejecting", max_length=1000)
    return [HighlightRejected(highlight_id=highlight.highlight_id, department=highlight.department,
                              reason=why, rejected_on=today)]


def feature(highlight: Highlight, *, today: date) -> list[EventPayload]:
    """Feature an approved highlight on the highlights wall."""
    _require(highlight, "approved", "feature")
    return [HighlightFeatured(highlight_id=highlight.highlight_id, department=highlight.department,
                              featured_on=today)]
