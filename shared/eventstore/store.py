"""The event store: append to a stream with an expected version, read a stream back.

Every method takes the caller's open connection, so that the events, the outbox rows and
whatever else a command writes commit (or roll back) together.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.catalogue import EventPayload, decode_payload
from shared.envelope import Envelope, content_hash_of, plain_json, utcnow
from shared.errors import ConcurrencyConflict, InvalidInput
from shared.eventstore.tables import events, outbox
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id
from shared.observability import EVENTS_APPENDED
from shared.signing import Signer

DEFAULT_MAX_EVENT_BYTES = 256 * 1024
"""Largest encoded envelope appended unless the store is given another (``QD_MAX_EVENT_BYTES``).

Well under NATS's default ``max_payload`` of 1 MiB, so that an event that was stored can always be
published; the relay checks the configured figure against the server's at start."""

_TIME = TypeAdapter(datetime)
"""Serialises an envelope's time exactly as the model does in JSON mode."""

ANY_VERSION = -1
"""Expected version meaning: append whatever the stream's version is (no optimistic check)."""


@dataclass(frozen=True)
class CommandContext:
    """Who is acting, for which department, and which request caused it."""

    actor: str
    department: str
    correlation_id: str = field(default_factory=new_id)
    causation_id: str | None = None
    now: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class RecordedEvent:
    """An event read back from the store: its envelope, decoded (upcast) payload and position."""

    position: int
    envelope: Envelope
    payload: EventPayload


@dataclass(frozen=True)
class Stream:
    """A stream as loaded: its events and its head, where the next append goes."""

    stream_id: str
    version: int
    last_hash: str
    events: list[RecordedEvent]

    @property
    def payloads(self) -> list[EventPayload]:
        """The decoded payloads in order, for folding into state."""
        return [e.payload for e in self.events]

    def check_version(self, expected_version: int | None) -> None:
        """409 if the caller saw another version than this one (``None``/``ANY_VERSION``: no check)."""
        if expected_version is not None and expected_version not in (ANY_VERSION, self.version):
            raise ConcurrencyConflict(self.stream_id, expected_version, self.version)

    @classmethod
    def empty(cls, stream_id: str) -> Stream:
        """A stream with no events yet (a new entity's), without reading the database."""
        return cls(stream_id, 0, "", [])


class EventStore:
    """Append-only event streams of one service (``source`` names it in every envelope)."""

    def __init__(
        self, service: str, department: str, *, signer: Signer | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.service = service
        # The labelled counter once: ``labels()`` per append cost ~5 µs (a lock and a tuple).
        self._appended = EVENTS_APPENDED.labels(service)
        self.max_event_bytes = max_event_bytes
        self.department = department
        self.source = f"qingdan/{service}/{department}"
        # Signed at append time, so the database copy carries the signature too and the relay
        # publishes it unchanged (see shared.signing).
        self.signer = signer
        # The last command time written as text: an import's chunks append thousands of streams
        # with one context, and pydantic's dump of a datetime costs ~3 µs (bench/README.md).
        self._time_text: tuple[datetime, str] | None = None

    async def stream_head(self, conn: AsyncConnection, stream_id: str) -> tuple[int, str]:
        """The stream's current version (0 if empty) and its last hash."""
        row = (
            await conn.execute(
                select(events.c.version, events.c.hash)
                .where(events.c.stream_id == stream_id)
                .order_by(events.c.version.desc())
                .limit(1)
            )
        ).first()
        return (row.version, row.hash) if row else (0, "")

    async def load(self, conn: AsyncConnection | UnitOfWork, stream_id: str) -> Stream:
        """Read a stream with its head (version and last hash), ready to decide and append.

        Through a :class:`UnitOfWork`, events appended earlier in the same batch are included.
        """
        if isinstance(conn, UnitOfWork):
            recorded = await self.read(conn.conn, stream_id)
            recorded += [_decoded(0, e) for e in conn.appended(stream_id)]
        else:
            recorded = await self.read(conn, stream_id)
        if not recorded:
            return Stream(stream_id, 0, "", [])
        last = recorded[-1].envelope
        return Stream(stream_id, last.stream_version, last.hash, recorded)

    async def append(
        self,
        conn: AsyncConnection | UnitOfWork,
        stream: Stream | str,
        payloads: Sequence[EventPayload],
        ctx: CommandContext,
        *,
        expected_version: int | None = None,
    ) -> list[Envelope]:
        """Append ``payloads`` to a stream and queue them for NATS, in the caller's transaction.

        Pass the :class:`Stream` you loaded (its head is where the new events go), or a stream id
        to append at its current head. ``expected_version`` is the version the *user* last saw;
        if the stream has moved on since, :class:`ConcurrencyConflict` is raised. A writer in
        another process that raced us is caught by the unique (stream, version) constraint and
        reported the same way.
        """
        if not payloads:
            return []
        if isinstance(conn, UnitOfWork) and not conn.buffered:
            conn = conn.conn  # a direct unit writes at once, like a bare connection
        if isinstance(stream, str):
            if isinstance(conn, UnitOfWork):  # the head may be in this batch's buffer
                stream = await self.load(conn, stream)
            else:
                head_version, head_hash = await self.stream_head(conn, stream)
                stream = Stream(stream, head_version, head_hash, [])
        stream_id, version, prev_hash = stream.stream_id, stream.version, stream.last_hash
        stream.check_version(expected_version)
        # Each envelope is hashed from its wire-form attributes as a dict and made once, signed: the
        # model_copy/model_dump round trips of ``sealed`` and ``sign`` cost more per event than the
        # model itself (bench/README.md). ``Envelope.content_hash`` hashes through the same function.
        time_text = self._time_of(ctx.now)
        envelopes: list[Envelope] = []
        wire: list[bytes] = []
        for payload in payloads:
            version += 1
            envelope, raw = self._encode(payload, stream_id, version, prev_hash, ctx, time_text)
            self._check_size(envelope, len(raw))
            prev_hash = envelope.hash
            envelopes.append(envelope)
            wire.append(raw)
        encoded = [raw.decode() for raw in wire]
        rows = [
            {
                "event_id": e.id,
                "stream_id": e.stream_id,
                "stream_type": e.stream_type,
                "version": e.stream_version,
                "event_type": e.type,
                "schema_version": e.schema_version,
                "department": e.department,
                "occurred_at": e.time,
                "envelope": text,
                "hash": e.hash,
            }
            for e, text in zip(envelopes, encoded, strict=True)
        ]
        if isinstance(conn, UnitOfWork):
            conn.append_events(stream_id, rows, envelopes)
            self._appended.inc(len(envelopes))
            return envelopes
        try:
            result = await conn.execute(insert(events).returning(events.c.position), rows)
            positions = [r.position for r in result]
            await conn.execute(insert(outbox), [{"position": p} for p in positions])
        except IntegrityError:
            # The transaction is unusable now (PostgreSQL); the caller's savepoint rolls it back.
            raise ConcurrencyConflict(stream_id, version - len(envelopes), None) from None
        self._appended.inc(len(envelopes))
        return envelopes

    def _time_of(self, now: datetime) -> str:
        """``now`` as the envelope's JSON writes it, remembered for the next append of the same time."""
        last = self._time_text
        if last is not None and last[0] is now:
            return last[1]
        text: str = _TIME.dump_python(now, mode="json")
        self._time_text = (now, text)
        return text

    def _encode(self, payload: EventPayload, stream_id: str, version: int, prev_hash: str, ctx: CommandContext,
                time_text: str) -> tuple[Envelope, bytes]:
        """One event's envelope, hashed and signed, and its wire form (``Envelope.to_json``'s bytes).

        Every attribute is already valid (ours, or the payload model's JSON dump), so the envelope is
        made without validation (``Envelope.trusted``), and a document of plain JSON values is hashed and written by
        orjson (``shared.envelope.canonical_json``: the same bytes as ``json.dumps``; the wire form the
        same bytes as pydantic's, tested): validating and dumping the model again cost more per event
        than the hash (bench/README.md). Anything else (a float) takes the model's own path.
        """
        data = payload.model_dump(mode="json")
        document: dict[str, Any] = {
            "id": new_id(), "source": self.source, "type": payload.event_type, "specversion": "1.0",
            "time": time_text, "subject": stream_id, "datacontenttype": "application/json",
            "streamid": stream_id, "streamtype": payload.stream_type, "streamversion": version,
            "schemaversion": payload.schema_version, "actor": ctx.actor, "department": ctx.department,
            "correlationid": ctx.correlation_id, "causationid": ctx.causation_id, "prevhash": prev_hash,
        }
        # The attributes above are ours, strings, integers or None (typed so): only the payload's
        # data can hold a float or another type that orjson writes differently.
        plain = plain_json(data)
        document["data"] = data
        content_hash = content_hash_of(document, plain=plain)
        key_id = self.signer.key_id if self.signer is not None else ""
        signature = self.signer.signature(content_hash) if self.signer is not None else ""
        envelope = Envelope.trusted({
            "id": document["id"], "source": self.source, "type": payload.event_type, "specversion": "1.0",
            "time": ctx.now, "subject": stream_id, "datacontenttype": "application/json", "stream_id": stream_id,
            "stream_type": payload.stream_type, "stream_version": version, "schema_version": payload.schema_version,
            "actor": ctx.actor, "department": ctx.department, "correlation_id": ctx.correlation_id,
            "causation_id": ctx.causation_id, "prev_hash": prev_hash, "hash": content_hash, "key_id": key_id,
            "signature": signature, "data": data})
        if plain:
            del document["data"]  # the wire form's order: the model's fields, data last
            document.update(hash=content_hash, keyid=key_id, signature=signature, data=data)
            try:
                return envelope, orjson.dumps(document)
            except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
                pass
        return envelope, envelope.to_json()

    def _check_size(self, envelope: Envelope, size: int) -> None:
        """422 before anything is written if the encoded envelope exceeds ``max_event_bytes``.

        Field limits on every command keep events well below the maximum; this check catches what
        they cannot (many fields near their limits at once), so that no stored event is too large
        for NATS to carry (it would block its stream in the relay).
        """
        if size <= self.max_event_bytes:
            return
        data = envelope.data
        largest = max(data, key=lambda k: len(json.dumps(data[k], ensure_ascii=False).encode()), default=None)
        raise InvalidInput(
            f"{envelope.type} would be {size} bytes, over the limit of {self.max_event_bytes} bytes per event "
            f"(QD_MAX_EVENT_BYTES); its largest field is {largest!r}: shorten it or split the change",
            field=largest,
        )

    async def read(
        self, conn: AsyncConnection, stream_id: str, *, after_version: int = 0
    ) -> list[RecordedEvent]:
        """Every event of a stream in version order, upcast to the current schema."""
        result = await conn.execute(
            select(events.c.position, events.c.envelope)
            .where(events.c.stream_id == stream_id, events.c.version > after_version)
            .order_by(events.c.version)
        )
        return [_decode(row.position, row.envelope) for row in result]

    async def read_all(
        self, conn: AsyncConnection, *, after_position: int = 0, batch: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        """The whole log in commit order, in partitions (never row by row: see docs/measurements.md)."""
        result = await conn.stream(
            select(events.c.position, events.c.envelope)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
        )
        async for part in result.partitions(batch):
            yield [_decode(row.position, row.envelope) for row in part]

    async def last_position(self, conn: AsyncConnection) -> int:
        """The position of the newest event (0 if none)."""
        return int((await conn.execute(select(func.coalesce(func.max(events.c.position), 0)))).scalar_one())


def _decode(position: int, raw: str) -> RecordedEvent:
    return _decoded(position, Envelope.from_json(raw))


def _decoded(position: int, envelope: Envelope) -> RecordedEvent:
    payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
    return RecordedEvent(position=position, envelope=envelope, payload=payload)

