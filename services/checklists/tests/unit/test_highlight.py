"""Highlights (submitted → approved → featured, or rejected) and the publicity items linked to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from services.checklists.domain import highlight as hl
from services.checklists.domain import publicity as pb
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.worklists import (
    HighlightApproved,
    HighlightFeatured,
    HighlightRejected,
    HighlightSubmitted,
    PublicityItemListed,
    PublicityItemWithdrawn,
)
from shared.errors import DomainRuleViolated, InvalidInput

pytestmark = pytest.mark.unit

TODAY = date(2025, 3, 10)
SUBMITTED = HighlightSubmitted(
    highlight_id="h1",
    department="civil_affairs",
    title="Five-dimension-in-one care",
    description="Rehabilitation, care, employment, culture and barrier-free access in one service",
    tags=["care", "employment"],
    evidence=["https://e.x/report.pdf"],
    submitted_on=date(2025, 3, 1),
)
APPROVED = HighlightApproved(highlight_id="h1", department="civil_affairs", approved_on=date(2025, 3, 3))
REJECTED = HighlightRejected(
    highlight_id="h1",
    department="civil_affairs",
    reason="no evidence of results",
    rejected_on=date(2025, 3, 3),
)
FEATURED = HighlightFeatured(highlight_id="h1", department="civil_affairs", featured_on=date(2025, 3, 5))


def given(*events: EventPayload) -> hl.Highlight:
    state = fold(hl.evolve, events)
    assert state is not None
    return state


def submit(**changes: Any) -> list[EventPayload]:
    args: dict[str, Any] = dict(
        highlight_id="h1",
        department="civil_affairs",
        title=" Five-dimension-in-one care ",
        description=SUBMITTED.description,
        tags=[" care", "employment", "care"],
        evidence=["https://e.x/report.pdf"],
        submitted_on=date(2025, 3, 1),
        today=TODAY,
    )
    args.update(changes)
    return hl.submit(None, **args)


# --- highlights -----------------------------------------------------------------------------------


def test_submit_a_highlight() -> None:
    [event] = submit()
    assert event == SUBMITTED
    state = given(event)
    assert (state.status, state.department, state.tags) == (
        "submitted",
        "civil_affairs",
        ("care", "employment"),
    )


def test_submitting_an_existing_highlight_is_refused() -> None:
    with pytest.raises(DomainRuleViolated, match="already exists"):
        hl.submit(
            given(SUBMITTED),
            highlight_id="h1",
            department="d",
            title="t",
            description="d",
            tags=[],
            evidence=["https://e.x"],
            submitted_on=TODAY,
            today=TODAY,
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"evidence": []}, "evidence", id="no-evidence"),
        pytest.param({"evidence": ["not a link"]}, "evidence", id="bad-evidence"),
        pytest.param({"title": " "}, "title", id="no-title"),
        pytest.param({"description": ""}, "description", id="no-description"),
        pytest.param({"department": ""}, "department", id="no-department"),
        pytest.param({"tags": [""]}, "tags", id="blank-tag"),
        pytest.param({"tags": ["x" * 31]}, "tags", id="long-tag"),
        pytest.param({"tags": [f"t{i}" for i in range(11)]}, "tags", id="many-tags"),
        pytest.param({"submitted_on": date(2025, 3, 11)}, "submitted_on", id="future"),
    ],
)
def test_bad_submissions_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        submit(**changes)
    assert caught.value.field == field


def test_approve_then_feature() -> None:
    [approved] = hl.approve(given(SUBMITTED), today=date(2025, 3, 3))
    assert approved == APPROVED
    assert given(SUBMITTED, approved).status == "approved"
    [featured] = hl.feature(given(SUBMITTED, approved), today=date(2025, 3, 5))
    assert featured == FEATURED
    state = given(SUBMITTED, approved, featured)
    assert (state.status, state.featured_on) == ("featured", date(2025, 3, 5))


def test_reject_with_a_reason() -> None:
    [event] = hl.reject(given(SUBMITTED), reason=" no evidence of results ", today=date(2025, 3, 3))
    assert event == REJECTED
    state = given(SUBMITTED, event)
    assert (state.status, state.reject_reason) == ("rejected", "no evidence of results")


def test_reject_without_a_reason_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        hl.reject(given(SUBMITTED), reason="  ", today=TODAY)
    assert caught.value.field == "reason"


COMMANDS: dict[str, Callable[[hl.Highlight], object]] = {
    "approve": lambda h: hl.approve(h, today=TODAY),
    "reject": lambda h: hl.reject(h, reason="r", today=TODAY),
    "feature": lambda h: hl.feature(h, today=TODAY),
}


@pytest.mark.parametrize(
    ("history", "command", "says"),
    [
        pytest.param((SUBMITTED,), "feature", "it is submitted, not approved", id="feature-submitted"),
        pytest.param((SUBMITTED, APPROVED), "approve", "it is approved, not submitted", id="approve-twice"),
        pytest.param((SUBMITTED, APPROVED), "reject", "it is approved", id="reject-approved"),
        pytest.param(
            (SUBMITTED, REJECTED), "approve", "rejected (no evidence of results)", id="approve-rejected"
        ),
        pytest.param((SUBMITTED, REJECTED), "reject", "rejected", id="reject-twice"),
        pytest.param((SUBMITTED, REJECTED), "feature", "rejected", id="feature-rejected"),
        pytest.param((SUBMITTED, APPROVED, FEATURED), "feature", "featured", id="feature-twice"),
        pytest.param((SUBMITTED, APPROVED, FEATURED), "approve", "featured", id="approve-featured"),
        pytest.param((SUBMITTED, APPROVED, FEATURED), "reject", "featured", id="reject-featured"),
    ],
)
def test_other_transitions_are_refused(history: tuple[EventPayload, ...], command: str, says: str) -> None:
    with pytest.raises(DomainRuleViolated) as caught:
        COMMANDS[command](given(*history))
    assert says in caught.value.message


def test_a_highlight_stream_refuses_foreign_events() -> None:
    with pytest.raises(TypeError):
        given(SUBMITTED, PublicityItemWithdrawn(item_id="p", department="d", reason="r"))


# --- publicity ------------------------------------------------------------------------------------


def list_item(**changes: Any) -> list[EventPayload]:
    args: dict[str, Any] = dict(
        item_id="p1",
        department="civil_affairs",
        title=" 眉山日报 report ",
        channel=" newspaper ",
        published_on=date(2025, 3, 8),
        highlight=None,
        url=" https://news.example/1 ",
        today=TODAY,
    )
    args.update(changes)
    return pb.list_item(None, **args)


def test_list_a_publicity_item_without_a_highlight() -> None:
    [event] = list_item(url=None)
    assert event == PublicityItemListed(
        item_id="p1",
        department="civil_affairs",
        title="眉山日报 report",
        channel="newspaper",
        published_on=date(2025, 3, 8),
    )


@pytest.mark.parametrize(
    "history", [(SUBMITTED, APPROVED), (SUBMITTED, APPROVED, FEATURED)], ids=["approved", "featured"]
)
def test_list_a_publicity_item_about_an_approved_highlight(history: tuple[EventPayload, ...]) -> None:
    [event] = list_item(highlight=given(*history))
    assert isinstance(event, PublicityItemListed)
    assert (event.highlight_id, event.url) == ("h1", "https://news.example/1")
    state = fold(pb.evolve, [event])
    assert state == pb.PublicityItem("p1", "civil_affairs", "眉山日报 report", "h1")


@pytest.mark.parametrize("history", [(SUBMITTED,), (SUBMITTED, REJECTED)], ids=["submitted", "rejected"])
def test_publicising_an_unapproved_highlight_is_refused(history: tuple[EventPayload, ...]) -> None:
    with pytest.raises(DomainRuleViolated, match="only an approved or featured"):
        list_item(highlight=given(*history))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"title": ""}, "title", id="no-title"),
        pytest.param({"channel": " "}, "channel", id="no-channel"),
        pytest.param({"published_on": date(2025, 3, 11)}, "published_on", id="future"),
        pytest.param({"url": "https://a b"}, "url", id="spaced-url"),
    ],
)
def test_bad_publicity_items_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list_item(**changes)
    assert caught.value.field == field


def test_listing_an_existing_item_is_refused() -> None:
    state = fold(pb.evolve, list_item())
    with pytest.raises(DomainRuleViolated, match="already exists"):
        pb.list_item(
            state,
            item_id="p1",
            department="d",
            title="t",
            channel="c",
            published_on=TODAY,
            highlight=None,
            url=None,
            today=TODAY,
        )


def test_withdraw_once_with_a_reason() -> None:
    state = fold(pb.evolve, list_item())
    assert state is not None
    with pytest.raises(InvalidInput):
        pb.withdraw(state, reason="")
    [event] = pb.withdraw(state, reason=" duplicate ")
    assert event == PublicityItemWithdrawn(item_id="p1", department="civil_affairs", reason="duplicate")
    withdrawn = fold(pb.evolve, [*list_item(), event])
    assert withdrawn is not None and withdrawn.withdrawn
    with pytest.raises(DomainRuleViolated, match="already withdrawn"):
        pb.withdraw(withdrawn, reason="again")
