"""A service's own lookup tables against its events: each row recomputed in memory and compared.

Lookup tables (the registry's ``persons``: township, village, grade…) decide who may read what,
so an edited row is as serious as an edited event, and no hash covers it. Each service declares
how a table's rows follow from its streams (:class:`LookupRows`); ``verify`` folds every stream
of that type in memory and names the first row that differs, is missing or has no events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.aggregate import fold
from shared.catalogue import EventPayload, decode_payload
from shared.envelope import Envelope
from shared.eventstore.repository import Change, InlineProjection
from shared.eventstore.store import RecordedEvent, Stream
from shared.eventstore.tables import events
from shared.projection import Upsert


@dataclass(frozen=True)
class LookupRows:
    """How ``table`` follows from the streams of ``stream_type``: one row per stream (or none).

    ``row`` gets a stream's events in order and returns the row the table must hold for it,
    keyed like the table, or ``None`` if the stream has none. ``columns`` are compared (all of
    the row's by default); ``normalise`` evens out representations (JSON text, say) first.
    """

    table: Table
    stream_type: str
    row: Callable[[Sequence[RecordedEvent]], dict[str, Any] | None]
    columns: tuple[str, ...] = ()
    normalise: Callable[[str, Any], Any] = lambda _column, value: value
    replicas: Table | None = None
    """A table of copies of other instances' events (``stream_id``, ``version``, ``envelope``) whose
    streams also have rows in ``table`` (a checklists instance's replicas of the issuer's halves)."""


def inline_lookup(
    inline: InlineProjection, table: Table, stream_type: str, kind: str,
    evolve: Callable[[Any, EventPayload], Any] | None = None, *, replicas: Table | None = None,
) -> LookupRows:
    """The rows of ``table`` as the service's own inline projection writes them: the events of each
    stream of ``stream_type`` whose id starts with ``kind-`` handed to it at once, as if one command
    had saved them all (``evolve`` folds the state the row functions of a
    :class:`~shared.aggregate.Kind` expect). No second copy of the rules to drift from the first."""
    def row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
        stream_id = recorded[0].envelope.stream_id
        if stream_id.partition("-")[0] != kind:  # another kind of the same stream type (a task's other half)
            return None
        payloads = [r.payload for r in recorded]
        state = fold(evolve, payloads) if evolve is not None else None
        change = Change(stream_id, Stream.empty(stream_id), payloads, recorded[-1].envelope.stream_version, state)
        found = None
        for operation in inline.changes(change):
            if isinstance(operation, Upsert) and operation.table is table:
                found = {**(found or {}), **operation.key, **operation.values}
        return found
    return LookupRows(table, stream_type, row, replicas=replicas)


async def check_lookup_rows(engine: AsyncEngine, declared: Sequence[LookupRows]) -> tuple[int, list[str]]:
    """(rows checked, problems): every row that differs from what its events say, by key."""
    problems: list[str] = []
    checked = 0
    for lookup in declared:
        keys = [c.name for c in lookup.table.primary_key.columns]
        expected = {tuple(row[k] for k in keys): row async for row in _rows_from_events(engine, lookup)}
        async with engine.connect() as conn:
            actual = {tuple(r[k] for k in keys): dict(r) for r in
                      (await conn.execute(select(lookup.table))).mappings()}
        for key in sorted(set(expected) | set(actual), key=str):
            checked += 1
            where = f"{lookup.table.name}[{', '.join(map(str, key))}]"
            if key not in actual:
                problems.append(f"{where}: missing (its events say it exists)")
            elif key not in expected:
                problems.append(f"{where}: no events of its own (a row added by hand?)")
            else:
                for column in lookup.columns or tuple(expected[key]):
                    want = lookup.normalise(column, expected[key][column])
                    have = lookup.normalise(column, actual[key][column])
                    if want != have:
                        problems.append(f"{where}: {column} is {have!r}, its events say {want!r}")
    return checked, problems


async def _rows_from_events(engine: AsyncEngine, lookup: LookupRows) -> AsyncIterator[dict[str, Any]]:
    """Each stream of the lookup's type folded into its row, one stream in memory at a time."""
    current: list[RecordedEvent] = []
    async with engine.connect() as conn:
        result = await conn.stream(
            select(events.c.position, events.c.stream_id, events.c.envelope)
            .where(events.c.stream_type == lookup.stream_type)
            .order_by(events.c.stream_id, events.c.version)
        )
        async for part in result.partitions(2000):
            for record in part:
                envelope = Envelope.from_json(record.envelope)
                if current and current[-1].envelope.stream_id != envelope.stream_id:
                    if (row := lookup.row(current)) is not None:
                        yield row
                    current = []
                payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
                current.append(RecordedEvent(record.position, envelope, payload))
    if current and (row := lookup.row(current)) is not None:
        yield row
    if lookup.replicas is not None:
        async for row in _rows_from_replicas(engine, lookup, lookup.replicas):
            yield row


async def _rows_from_replicas(
    engine: AsyncEngine, lookup: LookupRows, replicas: Table
) -> AsyncIterator[dict[str, Any]]:
    """As :func:`_rows_from_events`, over the copies of other instances' streams."""
    by_stream: dict[str, list[RecordedEvent]] = {}
    async with engine.connect() as conn:
        result = await conn.execute(select(replicas.c.envelope).order_by(replicas.c.stream_id, replicas.c.version))
        for (text,) in result:
            envelope = Envelope.from_json(text)
            if envelope.stream_type == lookup.stream_type:
                payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
                by_stream.setdefault(envelope.stream_id, []).append(RecordedEvent(0, envelope, payload))
    for recorded in by_stream.values():
        if (row := lookup.row(recorded)) is not None:
            yield row
