"""The repository every use case goes through: load (fold, or 404) and save (append, outbox, and
the service's own lookup rows), in the command's one :class:`UnitOfWork`.

A use case is three steps: ``load`` the aggregates it needs, let the domain decide, ``save`` the
events. On save the repository appends them (refusing a stale expected version with a 409), folds
them into the state it returns, and writes the service's *inline projection*: the lookup rows
(queries, uniqueness) that the service keeps of its own streams, declared once per service as pure
functions of a :class:`Change`. The rows therefore always commit, or roll back, with the events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.aggregate import Kind
from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.errors import NotFound
from shared.eventstore.store import CommandContext, EventStore, Stream
from shared.eventstore.unit_of_work import UnitOfWork
from shared.projection import Operation

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)

Reader = AsyncConnection | UnitOfWork
"""Loads work through a unit of work (commands) or a bare connection (the read side)."""


@dataclass(frozen=True)
class Loaded(Generic[S_co]):
    """A stream as loaded and the state folded from it (``None`` for an entity not created yet)."""

    stream: Stream
    state: S_co

    @property
    def version(self) -> int:
        """The stream's version: what a caller passes back as ``expected_version``."""
        return self.stream.version


@dataclass(frozen=True)
class Change:
    """What an inline projection sees when a stream is saved: before, the new events, the version after.

    ``state`` is the aggregate's state after the events when the use case saved through a
    :class:`Kind` (``None`` for a stream-level save, whose rows are computed from ``history``).
    """

    stream_id: str
    before: Stream
    events: Sequence[EventPayload]
    version: int
    state: Any = None

    @property
    def created(self) -> bool:
        """Whether these events started the stream."""
        return self.before.version == 0

    @property
    def history(self) -> list[EventPayload]:
        """Every event of the stream, the new ones included."""
        return [*self.before.payloads, *self.events]

    @property
    def kind(self) -> str:
        """The stream id's prefix (``person`` of ``person-…``), which names its lookup rows."""
        return self.stream_id.partition("-")[0]

    @property
    def entity_id(self) -> str:
        """The stream id after its prefix."""
        return self.stream_id.partition("-")[2]


RowsOf = Callable[[Change], Sequence[Operation]]


@dataclass(frozen=True)
class InlineProjection:
    """A service's lookup rows of its own streams: one pure function per stream kind (id prefix)."""

    rows: Mapping[str, RowsOf] = field(default_factory=dict)

    def changes(self, change: Change) -> Sequence[Operation]:
        """The row operations for a saved stream (none for a kind without lookup rows)."""
        rows = self.rows.get(change.kind)
        return rows(change) if rows is not None else []


@dataclass(frozen=True)
class Saved(Generic[S_co]):
    """The outcome of a save: the state after the events, the stream's new version, the envelopes."""

    stream_id: str
    state: S_co
    version: int
    envelopes: list[Envelope]


class Repository:
    """Loads and saves a service's aggregates through its event store and inline projection."""

    def __init__(self, store: EventStore, inline: InlineProjection | None = None) -> None:
        self.store = store
        self.inline = inline or InlineProjection()

    async def read(self, reader: Reader, stream_id: str) -> Stream:
        """A stream with its head (events appended earlier in the batch included)."""
        return await self.store.load(reader, stream_id)

    def check_writable(self, stream: Stream) -> None:
        """Refuse to append to a stream this service does not write (a hook: every stream is ours here)."""

    async def find(self, reader: Reader, kind: Kind[S], entity_id: str) -> Loaded[S | None]:
        """An entity that may not exist yet: its stream and state (``None`` if it has no events)."""
        stream_id = kind.stream_id(entity_id)
        if stream_id is None:
            raise NotFound(kind.missing(entity_id))
        stream = await self.read(reader, stream_id)
        state: S | None = None
        for event in stream.payloads:
            state = kind.evolve(state, event)
        return Loaded(stream, state)

    async def load(self, reader: Reader, kind: Kind[S], entity_id: str, *, missing: str | None = None) -> Loaded[S]:
        """An existing entity's stream and state; :class:`NotFound` (404) if it has no events."""
        found = await self.find(reader, kind, entity_id)
        if found.state is None:
            raise NotFound(missing or kind.missing(entity_id))
        return Loaded(found.stream, found.state)

    @staticmethod
    def new(kind: Kind[Any], entity_id: str) -> Loaded[None]:
        """A new entity (its id freshly minted): an empty stream, read from nowhere."""
        stream_id = kind.stream_id(entity_id)
        assert stream_id is not None, f"{entity_id!r} cannot name a {kind.name}"
        return Loaded(Stream.empty(stream_id), None)

    async def save(
        self, uow: UnitOfWork, kind: Kind[S], loaded: Loaded[S | None], events: Sequence[EventPayload],
        ctx: CommandContext, *, expected_version: int | None,
    ) -> Saved[S]:
        """Append ``events`` to the loaded stream and write its lookup rows; the state after them.

        ``expected_version`` is the version the caller last saw (409 if the stream has moved on).
        """
        state = loaded.state
        for event in events:
            state = kind.evolve(state, event)
        if state is None:
            raise ValueError(f"saving a {kind.name} that no event has created")
        version, envelopes = await self._save(uow, loaded.stream, events, ctx, expected_version, state)
        return Saved(loaded.stream.stream_id, state, version, envelopes)

    async def save_stream(
        self, uow: UnitOfWork, stream: Stream, events: Sequence[EventPayload], ctx: CommandContext,
        *, expected_version: int | None,
    ) -> int:
        """Append to a stream whose state the caller does not fold (its rows come from its history);
        the stream's new version."""
        version, _ = await self._save(uow, stream, events, ctx, expected_version, None)
        return version

    async def _save(
        self, uow: UnitOfWork, stream: Stream, events: Sequence[EventPayload], ctx: CommandContext,
        expected_version: int | None, state: object,
    ) -> tuple[int, list[Envelope]]:
        if events:
            self.check_writable(stream)
        envelopes = await self.store.append(uow, stream, events, ctx, expected_version=expected_version)
        if not envelopes:
            return stream.version, envelopes
        version = envelopes[-1].stream_version
        change = Change(stream.stream_id, stream, events, version, state)
        await uow.apply(self.inline.changes(change), created=change.created)
        return version, envelopes
