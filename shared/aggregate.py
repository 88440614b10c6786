"""Folding events into state: the one way every aggregate is rebuilt."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from shared.catalogue import EventPayload

S = TypeVar("S")


def fold(evolve: Callable[[S | None, EventPayload], S], events: Iterable[EventPayload]) -> S | None:
    """Apply ``evolve`` to each event in order, starting from no state."""
    state: S | None = None
    for event in events:
        state = evolve(state, event)
    return state
