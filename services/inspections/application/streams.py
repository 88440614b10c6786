"""Appending a decision to a stream and folding it into the new state: the step every use case ends with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.application.deps import InspectionsDeps
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.eventstore import Stream

S = TypeVar("S")


async def append(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, stream: Stream, before: S | None,
    events: Sequence[EventPayload], expected_version: int | None, evolve: Callable[[S | None, EventPayload], S],
) -> tuple[S, int]:
    """Append ``events`` (409 if ``expected_version`` is stale); the state after them and the stream's version."""
    envelopes = await deps.store.append(conn, stream, events, deps.context(principal),
                                        expected_version=expected_version)
    state = before
    for event in events:
        state = evolve(state, event)
    assert state is not None, "a new stream's first command always decides an event"
    return state, envelopes[-1].stream_version if envelopes else stream.version
