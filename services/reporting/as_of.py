"""Audit views as of a moment: the read models rebuilt from the events up to ``as_of``.

``?as_of=<timestamp>`` on coverage, the rectification ledger and the scoreboards answers from a
*moment*: every source stream replayed from the start into memory (through the same projections
and :class:`~shared.projection.MemoryModel` a rebuild uses, admitting only genuine events, each
event id once), keeping the events whose envelope ``time`` is at or before ``as_of``. The rows are
then loaded into a private in-memory SQLite database with the read-model tables, and the views'
own SQL queries run against it: one query code, so the answer is the live view's computation over
the events up to that moment.

The cut uses the envelope's ``time`` (occurred-at), set and signed by the writing instance: it
says when the writer recorded the change, not when reporting received it (docs/reporting.md).

A replay reads whole streams, so moments are cached (least recently used out, bounded by the
number of rows they hold) and replays run one at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from sqlalchemy import Connection, MetaData, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from shared.catalogue import decode_payload
from shared.envelope import Envelope
from shared.errors import InvalidInput
from shared.messaging.admission import admit
from shared.messaging.connection import connect_until_ready
from shared.messaging.replay import replay, stream_last_sequence
from shared.messaging.subjects import service_subjects, stream_name, subject_event_type
from shared.projection import MemoryModel, Projection
from shared.signing import KeyRing

log = structlog.get_logger(__name__)

DEFAULT_MAX_ROWS = 2_000_000
"""The moment cache's bound: the moments it keeps hold at most this many rows in all."""


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def within(event_time: datetime, as_of: datetime) -> bool:
    """Whether an event that occurred at ``event_time`` belongs to the view as of ``as_of``.

    Inclusive: an event recorded at exactly ``as_of`` was already there at that moment.
    """
    return utc(event_time) <= utc(as_of)


def check_requested(as_of: datetime, now: datetime) -> datetime:
    """The requested moment in UTC; a moment without a UTC offset or in the future is refused (422)."""
    if as_of.tzinfo is None:
        raise InvalidInput("as_of needs a UTC offset (for example 2026-03-01T09:30:00+08:00 or ...Z)")
    if utc(as_of) > utc(now):
        raise InvalidInput(f"as_of {as_of.isoformat()} is in the future (now is {utc(now).isoformat()})")
    return utc(as_of)


@dataclass
class Moment:
    """The read models as of ``as_of``, in a private in-memory database."""

    as_of: datetime
    engine: AsyncEngine
    rows: int
    events: int
    """Genuine events applied (at or before ``as_of``)."""
    first_event: datetime | None
    """The time of the earliest genuine event in the source streams (any type)."""
    positions: dict[str, int]
    """The last stream sequence read, per stream."""
    seconds: float = 0.0
    """How long the replay and the load took."""


class Cut:
    """Feeds messages through the projections, keeping only genuine events up to ``as_of``."""

    def __init__(self, projections: Iterable[Projection], as_of: datetime, keyring: KeyRing | None,
                 namespace: str) -> None:
        self.projections = tuple(projections)
        self.as_of = utc(as_of)
        self.keyring = keyring
        self.namespace = namespace
        self.models = {p.name: MemoryModel(p.tables) for p in self.projections}
        self.applied_ids: set[str] = set()
        self.events = 0
        self.first_event: datetime | None = None

    def offer(self, subject: str, data: bytes, service: str) -> None:
        """One message of ``service``'s stream, in stream order."""
        readers = [p for p in self.projections if p.source_service == service]
        event_type = subject_event_type(subject)
        admission = admit(subject, data, self.keyring, namespace=self.namespace, service=service)
        envelope = admission.envelope
        if envelope is None or not admission.admitted or envelope.id in self.applied_ids:
            return  # forged, unsigned or repeated: the live consumer never applies these either
        self.applied_ids.add(envelope.id)
        occurred = utc(envelope.time)
        if self.first_event is None or occurred < self.first_event:
            self.first_event = occurred
        if not within(occurred, self.as_of):
            return  # later than the moment: streams are in publishing order, not time order, so read on
        wanted = [p for p in readers if envelope.type in p.event_types]
        if not wanted or (event_type is not None and event_type != envelope.type):
            return
        self.apply(envelope, wanted)

    def apply(self, envelope: Envelope, projections: list[Projection]) -> None:
        """Apply one admitted envelope to the projections that read it."""
        try:
            payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
        except (ValidationError, ValueError):
            return  # the live consumer dead-letters an undecodable payload; the model never has it
        for projection in projections:
            self.models[projection.name].apply(projection.changes(envelope, payload))
        self.events += 1

    async def load(self, schema: Iterable[MetaData]) -> tuple[AsyncEngine, int]:
        """A fresh in-memory SQLite database with every table of ``schema``, filled from the models."""
        # One shared connection: every session of an in-memory SQLite database sees the same data.
        engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
        rows = 0
        async with engine.begin() as conn:
            for metadata in schema:
                await conn.run_sync(metadata.create_all)
            for projection in self.projections:
                # A projection's tables may live outside the views' schema (the staff directory).
                await conn.run_sync(_create_tables, projection.tables)
                model = self.models[projection.name]
                for table in projection.tables:
                    table_rows = model.table_rows(table)
                    rows += len(table_rows)
                    for start in range(0, len(table_rows), 1000):
                        await conn.execute(insert(table), table_rows[start:start + 1000])
        return engine, rows


def _create_tables(sync: Connection, tables: Iterable[Table]) -> None:
    for table in tables:
        table.create(sync, checkfirst=True)


async def replay_moment(
    as_of: datetime, projections: Iterable[Projection], schema: Iterable[MetaData], *,
    nats_url: str, namespace: str, keyring: KeyRing | None,
) -> Moment:
    """Replay every source stream of ``projections`` up to its current end and cut at ``as_of``."""
    started = time.monotonic()
    cut = Cut(projections, as_of, keyring, namespace)
    positions: dict[str, int] = {}
    nc = await connect_until_ready(nats_url, name="reporting-as-of")
    try:
        for service in sorted({p.source_service for p in cut.projections}):
            stream = stream_name(namespace, service)
            try:
                end = await stream_last_sequence(nc, stream)
            except NotFoundError:
                end = 0  # that service has published nothing yet
            positions[stream] = end

            def on_message(msg: Msg, service: str = service) -> None:
                cut.offer(msg.subject, msg.data, service)

            await replay(nc, stream, service_subjects(namespace, service), start=1, end=end,
                         on_message=on_message)
    finally:
        await nc.close()
    engine, rows = await cut.load(schema)
    moment = Moment(utc(as_of), engine, rows, cut.events, cut.first_event, positions, time.monotonic() - started)
    # An operator's measure of what a moment costs (docs/reporting.md): messages read, time taken.
    log.info("as_of replayed", as_of=moment.as_of.isoformat(), messages=sum(positions.values()),
             events=moment.events, rows=rows, seconds=round(moment.seconds, 3))
    return moment


class Moments:
    """Replayed moments, cached least recently used first out, bounded by the rows they hold.

    Replays run one at a time (each reads every stream and holds its models in memory); a second
    request for a moment being replayed waits and is then served from the cache.
    """

    def __init__(self, projections: Iterable[Projection], schema: Iterable[MetaData], *, nats_url: str,
                 namespace: str, keyring: KeyRing | None, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.projections = tuple(projections)
        self.schema = tuple(schema)
        self.nats_url = nats_url
        self.namespace = namespace
        self.keyring = keyring
        self.max_rows = max_rows
        self.replays = 0
        self._cache: OrderedDict[datetime, Moment] = OrderedDict()
        self._lock = asyncio.Lock()

    @property
    def rows(self) -> int:
        """Rows held by the cached moments."""
        return sum(m.rows for m in self._cache.values())

    def __len__(self) -> int:
        return len(self._cache)

    async def get(self, as_of: datetime, now: datetime | None = None) -> Moment:
        """The moment ``as_of`` (422 if in the future, without an offset, or before the first event)."""
        moment_at = check_requested(as_of, now or datetime.now(UTC))
        async with self._lock:
            moment = self._cache.get(moment_at)
            if moment is None:
                moment = await replay_moment(moment_at, self.projections, self.schema, nats_url=self.nats_url,
                                             namespace=self.namespace, keyring=self.keyring)
                self.replays += 1
                await self._keep(moment)
            else:
                self._cache.move_to_end(moment_at)
        if moment.first_event is None or moment_at < moment.first_event:
            first = moment.first_event.isoformat() if moment.first_event else "none yet"
            raise InvalidInput(f"as_of {moment_at.isoformat()} is before the first event (first event: {first})")
        return moment

    async def _keep(self, moment: Moment) -> None:
        if moment.rows > self.max_rows:
            return  # larger than the whole cache: served, not kept (its database goes with it)
        self._cache[moment.as_of] = moment
        while self.rows > self.max_rows:
            _, evicted = self._cache.popitem(last=False)
            # An in-memory database lives as long as its engine's connection: drop it now.
            await evicted.engine.dispose()

    async def close(self) -> None:
        """Drop every cached moment."""
        for moment in self._cache.values():
            await moment.engine.dispose()
        self._cache.clear()
