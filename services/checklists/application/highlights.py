"""Use cases on highlights (特色亮点清单) and publicity items (宣传清单).

A department's instance writes its highlights (``highlight-{id}``) and publicity items; the issuer's
instance writes the review of a highlight (``highlightreview-{id}``). See ``domain/ownership.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from services.checklists.application import access
from services.checklists.application import commands as c
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.lookup_rows import PUBLICITY
from services.checklists.application.views import highlight_rows_json, saved_row
from services.checklists.domain import highlight as domain
from services.checklists.domain import publicity as publicity_domain
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import InvalidInput, NotFound
from shared.eventstore import Stream
from shared.eventstore.repository import Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


async def submit(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, cmd: c.SubmitHighlight
) -> dict[str, Any]:
    """A department puts forward one of its practices, with evidence, for the federation's review."""
    deps.require_worker(principal, access.PUBLISHING, principal.department, "submitting a highlight")
    highlight_id = new_id()
    today = deps.today()
    events = domain.submit(None, highlight_id=highlight_id, department=principal.department, title=cmd.title,
                           description=cmd.description, tags=cmd.tags, evidence=cmd.evidence,
                           submitted_on=cmd.submitted_on or today, today=today)
    submission = Stream.empty(domain.highlight_stream_id(highlight_id))
    version = await deps.repository.save_stream(uow, submission, events, deps.context(principal), expected_version=0)
    return highlight_rows_json(saved_row(submission, events, version), {})


async def _review(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, highlight_id: str,
    expected_version: int | None, action: str, decide: Callable[[domain.Highlight, date], list[EventPayload]],
) -> dict[str, Any]:
    deps.require_issuer(principal, access.REVIEWING, action)
    halves = await deps.repository.highlight(uow, highlight_id)
    halves.review.check_version(expected_version)  # a stale caller hears 409 before any rule
    events = decide(halves.state, deps.today())
    version = await deps.repository.save_stream(uow, halves.review, events, deps.context(principal),
                                                expected_version=expected_version)
    return highlight_rows_json(saved_row(halves.submission), saved_row(halves.review, events, version))


async def approve(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, highlight_id: str, cmd: c.ReviewHighlight
) -> dict[str, Any]:
    """Accept a submitted highlight."""
    return await _review(uow, deps, principal, highlight_id, cmd.expected_version, "approving a highlight",
                         lambda h, today: domain.approve(h, today=today))


async def reject(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, highlight_id: str, cmd: c.RejectHighlight
) -> dict[str, Any]:
    """Turn a submitted highlight down, with the reason."""
    return await _review(uow, deps, principal, highlight_id, cmd.expected_version, "rejecting a highlight",
                         lambda h, today: domain.reject(h, reason=cmd.reason, today=today))


async def feature(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, highlight_id: str, cmd: c.ReviewHighlight
) -> dict[str, Any]:
    """Put an approved highlight on the highlights wall."""
    return await _review(uow, deps, principal, highlight_id, cmd.expected_version, "featuring a highlight",
                         lambda h, today: domain.feature(h, today=today))


async def list_publicity_item(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, cmd: c.ListPublicity
) -> dict[str, Any]:
    """A department lists publicity it has done, perhaps about one of its approved highlights."""
    department = principal.department
    deps.require_worker(principal, access.PUBLISHING, department, "listing publicity")
    highlight = None
    if cmd.highlight_id:
        try:
            highlight = (await deps.repository.highlight(uow, cmd.highlight_id)).state
        except NotFound:
            raise InvalidInput(f"no highlight {cmd.highlight_id} of {department}", field="highlight_id") from None
        if highlight.department != department:
            raise InvalidInput(f"highlight {cmd.highlight_id} belongs to {highlight.department}, not {department}",
                               field="highlight_id")
    item_id = new_id()
    events = publicity_domain.list_item(None, item_id=item_id, department=department, title=cmd.title,
                                        channel=cmd.channel, published_on=cmd.published_on, highlight=highlight,
                                        url=cmd.url, today=deps.today())
    item = Repository.new(PUBLICITY, item_id)
    saved = await deps.repository.save(uow, PUBLICITY, item, events, deps.context(principal), expected_version=0)
    return saved_row(item.stream, events, saved.version)


async def withdraw_publicity_item(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, item_id: str, cmd: c.WithdrawPublicity
) -> dict[str, Any]:
    """Take a publicity item off the list, with the reason."""
    item = await deps.repository.load(uow, PUBLICITY, item_id, missing=f"no publicity item {item_id} here")
    deps.require_worker(principal, access.PUBLISHING, item.state.department, "withdrawing publicity")
    item.stream.check_version(cmd.expected_version)
    events = publicity_domain.withdraw(item.state, reason=cmd.reason)
    saved = await deps.repository.save(uow, PUBLICITY, item, events, deps.context(principal),
                                       expected_version=cmd.expected_version)
    return saved_row(item.stream, events, saved.version)
