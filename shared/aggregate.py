"""Folding events into state, and the description of an aggregate type: the one way every
aggregate is named, rebuilt and reported missing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.catalogue import EventPayload

S = TypeVar("S")

Evolve = Callable[[S | None, EventPayload], S]


def fold(evolve: Callable[[S | None, EventPayload], S], events: Iterable[EventPayload]) -> S | None:
    """Apply ``evolve`` to each event in order, starting from no state."""
    state: S | None = None
    for event in events:
        state = evolve(state, event)
    return state


def prefixed(prefix: str) -> Callable[[str], str]:
    """Stream ids of the form ``{prefix}-{entity id}``."""
    return lambda entity_id: f"{prefix}-{entity_id}"


@dataclass(frozen=True)
class Kind(Generic[S]):
    """An aggregate type: what it is called (in a 404), how its stream is named, how it folds.

    ``stream_id`` may return ``None`` for an id that cannot name such an entity (a 404 without
    reading anything).
    """

    name: str
    stream_id: Callable[[str], str | None]
    evolve: Callable[[S | None, EventPayload], S]

    def missing(self, entity_id: str) -> str:
        """The message of the 404 for an unknown ``entity_id``."""
        return f"no {self.name} {entity_id}"
