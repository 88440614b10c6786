"""Publicity lists (宣传清单): what a department has published about its work, perhaps about a highlight."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch

from services.checklists.domain import checks
from services.checklists.domain.highlight import Highlight
from shared.catalogue import EventPayload
from shared.catalogue.worklists import PublicityItemListed, PublicityItemWithdrawn
from shared.errors import DomainRuleViolated, InvalidInput


def publicity_stream_id(item_id: str) -> str:
    """One stream per publicity item."""
    return f"publicity-{item_id}"


@dataclass(frozen=True)
class PublicityItem:
    """A publicity item's state."""

    item_id: str
    department: str
    title: str
    highlight_id: str | None
    withdrawn: bool = False


def evolve(state: PublicityItem | None, event: EventPayload) -> PublicityItem:
    """Apply one event to a publicity item."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: PublicityItem | None) -> PublicityItem:
    raise TypeError(f"a publicity stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: PublicityItemListed, state: PublicityItem | None) -> PublicityItem:
    return PublicityItem(event.item_id, event.department, event.title, event.highlight_id)


@_apply.register
def _(event: PublicityItemWithdrawn, state: PublicityItem) -> PublicityItem:
    return replace(state, withdrawn=True)


def list_item(
    item: PublicityItem | None,
    *,
    item_id: str,
    department: str,
    title: str,
    channel: str,
    published_on: date,
    highlight: Highlight | None,
    url: str | None,
    today: date,
) -> list[EventPayload]:
    """List a piece of publicity already done; if it is about a highlight, that one must be approved."""
    if item is not None:
        raise DomainRuleViolated(f"publicity item {item_id} already exists")
    if highlight is not None and highlight.status not in ("approved", "featured"):
        raise DomainRuleViolated(
            f"highlight {highlight.highlight_id} is {highlight.status}: only an approved or featured "
            "highlight can be publicised"
        )
    checks.not_future(published_on, today, "published_on", what="publication date")
    link = checks.optional_text(url, "url", what="the link", max_length=checks.MAX_LINK_LENGTH)
    if link is not None and any(ch.isspace() for ch in link):
        raise InvalidInput(f"link {link!r} contains spaces", field="url")
    return [
        PublicityItemListed(
            item_id=item_id,
            department=checks.text(department, "department", what="the department"),
            title=checks.text(title, "title", what="the title"),
            channel=checks.text(channel, "channel", what="the channel", max_length=50),
            published_on=published_on,
            highlight_id=highlight.highlight_id if highlight is not None else None,
            url=link,
        )
    ]


def withdraw(item: PublicityItem, *, reason: str) -> list[EventPayload]:
    """Take an item off the list, with a reason (once)."""
    if item.withdrawn:
        raise DomainRuleViolated(f"publicity item {item.item_id} is already withdrawn")
    why = checks.text(reason, "reason", what="a reason for withdrawing", max_length=1000)
    return [PublicityItemWithdrawn(item_id=item.item_id, department=item.department, reason=why)]
