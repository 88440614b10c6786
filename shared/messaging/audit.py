"""The database log against the JetStream stream: two independent copies of a service's events.

Whoever can write a service's database can delete the last events of a stream (the chain stays
intact) or the whole tail of the log; JetStream, which that person cannot purge or edit (deny-delete,
deny-purge, no permission), still has them. And a message in the stream that is not a genuine
event of the service shows who published there without its key.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore.tables import events, outbox
from shared.messaging.admission import admit
from shared.messaging.replay import replay, stream_last_sequence
from shared.messaging.subjects import service_subjects, stream_name
from shared.signing import KeyRing


@dataclass(frozen=True)
class _Copy:
    sequence: int
    stream_id: str
    version: int
    hash: str


async def compare_with_stream(
    engine: AsyncEngine, nc: Client, *, namespace: str, service: str, source: str, keyring: KeyRing | None
) -> tuple[int, list[str]]:
    """(messages read, problems): events missing on either side, differing, or not genuine.

    Only events written by ``source`` (this instance) must be in its database: the stream is
    shared by every instance of the service. Events still in the outbox are not expected in
    JetStream yet. Problems are in stream order, then log order for events JetStream lacks.
    """
    stream = stream_name(namespace, service)
    published: dict[str, _Copy] = {}
    problems: list[str] = []

    def on_message(msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        admission = admit(msg.subject, msg.data, keyring, namespace=namespace, service=service, sequence=sequence)
        if not admission.admitted or admission.envelope is None:
            problems.append(f"{stream} #{sequence}: {admission.reason} (published without the service's key)")
            return
        envelope = admission.envelope
        if envelope.source == source and envelope.id not in published:  # a replayed copy is harmless
            published[envelope.id] = _Copy(sequence, envelope.stream_id, envelope.stream_version, envelope.hash)

    # The stream's end first, then the database: every message up to that end was committed before
    # it was published, so it must be in the snapshot (unless deleted).
    end = await stream_last_sequence(nc, stream)
    async with engine.connect() as conn:
        stored = {row.event_id: (row.position, row.stream_id, row.version, row.hash) for row in await conn.execute(
            select(events.c.event_id, events.c.position, events.c.stream_id, events.c.version, events.c.hash))}
        waiting = set((await conn.execute(select(outbox.c.position))).scalars())
    read = await replay(nc, stream, service_subjects(namespace, service), start=1, end=end, on_message=on_message)
    for event_id, copy in sorted(published.items(), key=lambda item: item[1].sequence):
        where = f"{copy.stream_id} v{copy.version} (event {event_id}, {stream} #{copy.sequence})"
        if event_id not in stored:
            problems.append(f"{where}: in JetStream but not in the database (deleted)")
        elif stored[event_id][3] != copy.hash:
            problems.append(f"{where}: the database's copy differs from JetStream's (altered)")
    # The relay publishes in log order: an event below the newest one JetStream has, not waiting in
    # the outbox, was acknowledged once. Later ones may simply have been published after ``end``.
    newest = max((stored[e][0] for e in published if e in stored), default=0)
    for event_id, (position, stream_id, version, _) in sorted(stored.items(), key=lambda item: item[1][0]):
        if event_id not in published and position not in waiting and position < newest:
            problems.append(f"{stream_id} v{version} (event {event_id}, position {position}): in the database "
                            "but not in JetStream, and not waiting in the outbox")
    return read, problems
