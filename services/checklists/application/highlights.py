"""Use cases on highlights (特色亮点清单) and publicity items (宣传清单).

A department's instance writes its highlights (``highlight-{id}``) and publicity items; the issuer's
instance writes the review of a highlight (``highlightreview-{id}``). See ``domain/ownership.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import publicity
from services.checklists.application import commands as c
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.streams import load_highlight, refresh
from services.checklists.application.tasks import append, unchanged
from services.checklists.application.views import highlight_json, publicity_json
from services.checklists.domain import highlight as domain
from services.checklists.domain import publicity as publicity_domain
from shared.aggregate import fold
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.catalogue.worklists import PublicityItemListed, PublicityItemWithdrawn
from shared.errors import InvalidInput, NotFound
from shared.eventstore import Stream
from shared.ids import new_id
from shared.projection import Upsert, apply_sql


async def submit(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, cmd: c.SubmitHighlight
) -> dict[str, Any]:
    """A department puts forward one of its practices, with evidence, for the federation's review."""
    deps.require_worker(principal, principal.department, "submitting a highlight")
    highlight_id = new_id()
    today = deps.today()
    events = domain.submit(None, highlight_id=highlight_id, department=principal.department, title=cmd.title,
                           description=cmd.description, tags=cmd.tags, evidence=cmd.evidence,
                           submitted_on=cmd.submitted_on or today, today=today)
    stream = Stream(domain.highlight_stream_id(highlight_id), 0, "", [])
    await append(conn, deps, principal, stream, events, 0)
    await refresh(conn, deps, stream.stream_id)
    return await highlight_json(conn, highlight_id)


async def _review(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, highlight_id: str,
    expected_version: int | None, action: str, decide: Callable[[domain.Highlight, date], list[EventPayload]],
) -> dict[str, Any]:
    deps.require_issuer(principal, action)
    halves = await load_highlight(conn, deps, highlight_id)
    unchanged(halves.review, expected_version)
    events = decide(halves.state, deps.today())
    await append(conn, deps, principal, halves.review, events, expected_version)
    await refresh(conn, deps, halves.review.stream_id)
    return await highlight_json(conn, highlight_id)


async def approve(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, highlight_id: str, cmd: c.ReviewHighlight
) -> dict[str, Any]:
    """Accept a submitted highlight."""
    return await _review(conn, deps, principal, highlight_id, cmd.expected_version, "approving a highlight",
                         lambda h, today: domain.approve(h, today=today))


async def reject(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, highlight_id: str, cmd: c.RejectHighlight
) -> dict[str, Any]:
    """Turn a submitted highlight down, with the reason."""
    return await _review(conn, deps, principal, highlight_id, cmd.expected_version, "rejecting a highlight",
                         lambda h, today: domain.reject(h, reason=cmd.reason, today=today))


async def feature(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, highlight_id: str, cmd: c.ReviewHighlight
) -> dict[str, Any]:
    """Put an approved highlight on the highlights wall."""
    return await _review(conn, deps, principal, highlight_id, cmd.expected_version, "featuring a highlight",
                         lambda h, today: domain.feature(h, today=today))


async def list_publicity_item(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, cmd: c.ListPublicity
) -> dict[str, Any]:
    """A department lists publicity it has done, perhaps about one of its approved highlights."""
    department = principal.department
    deps.require_worker(principal, department, "listing publicity")
    highlight = None
    if cmd.highlight_id:
        try:
            highlight = (await load_highlight(conn, deps, cmd.highlight_id)).state
        except NotFound:
            raise InvalidInput(f"no highlight {cmd.highlight_id} of {department}", field="highlight_id") from None
        if highlight.department != department:
            raise InvalidInput(f"highlight {cmd.highlight_id} belongs to {highlight.department}, not {department}",
                               field="highlight_id")
    item_id = new_id()
    events = publicity_domain.list_item(None, item_id=item_id, department=department, title=cmd.title,
                                        channel=cmd.channel, published_on=cmd.published_on, highlight=highlight,
                                        url=cmd.url, today=deps.today())
    stream = Stream(publicity_domain.publicity_stream_id(item_id), 0, "", [])
    await _save_publicity(conn, deps, principal, stream, events, 0)
    return await publicity_json(conn, item_id)


async def withdraw_publicity_item(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, item_id: str, cmd: c.WithdrawPublicity
) -> dict[str, Any]:
    """Take a publicity item off the list, with the reason."""
    stream = await deps.store.load(conn, publicity_domain.publicity_stream_id(item_id))
    item = fold(publicity_domain.evolve, stream.payloads)
    if item is None:
        raise NotFound(f"no publicity item {item_id} here")
    deps.require_worker(principal, item.department, "withdrawing publicity")
    unchanged(stream, cmd.expected_version)
    events = publicity_domain.withdraw(item, reason=cmd.reason)
    await _save_publicity(conn, deps, principal, stream, events, cmd.expected_version)
    return await publicity_json(conn, item_id)


async def _save_publicity(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, stream: Stream,
    events: list[EventPayload], expected_version: int | None,
) -> None:
    version = await append(conn, deps, principal, stream, events, expected_version)
    history = [*stream.payloads, *events]
    listed = next(e for e in history if isinstance(e, PublicityItemListed))
    withdrawn = next((e for e in history if isinstance(e, PublicityItemWithdrawn)), None)
    await apply_sql(conn, [Upsert(publicity, {"item_id": listed.item_id}, {
        "department": listed.department, "title": listed.title, "channel": listed.channel,
        "published_on": listed.published_on, "highlight_id": listed.highlight_id, "url": listed.url,
        "withdrawn": withdrawn is not None, "withdraw_reason": withdrawn.reason if withdrawn else None,
        "version": version})])
