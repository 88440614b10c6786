"""Rebuilding a read model from the stream, from scratch, while the old one keeps serving.

1. Replay the source stream up to its current end into staging tables, chunk by chunk (the
   projection's own pure logic; memory stays at one chunk: ``shared.rebuild_staged``).
2. In one transaction that holds the consumer's checkpoint (so the live consumer waits): replay
   whatever the live consumer applied beyond that point, then copy the staging tables over the
   live ones and set the checkpoint. Readers see the old model until the commit, then the new one.
With ``check``, the model is replayed into memory and compared instead, and nothing changes.

It names no service: the caller gives the consuming service's prefix (``ProjectionSet.prefix``),
whose checkpoint for the projection is the one read, locked and set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.catalogue import decode_payload
from shared.db import write_lock, writer
from shared.eventstore.tracking import applied_position
from shared.messaging.admission import admit_batch
from shared.messaging.connection import connect_until_ready
from shared.messaging.feeds import FollowUp, consumer_name
from shared.messaging.replay import replay, stream_last_sequence
from shared.messaging.subjects import service_subjects, stream_name, subject_event_type
from shared.projection import MemoryModel, Projection
from shared.rebuild_staged import replace_staged
from shared.signing import KeyRing

Progress = Callable[[int, int], None]
_CHECK_BATCH = 2000  # messages checked together


@dataclass
class RebuildReport:
    """What a rebuild did."""

    projection: str
    position: int
    events: int
    rows: dict[str, int]
    differences: list[str] = field(default_factory=list)
    replaced: bool = False


def rebuilt_subject(namespace: str, prefix: str) -> str:
    """The core NATS subject on which a replacing rebuild announces its swap (payload: the read model).

    A swap brings no event, so the serving processes (which cache views) learn of it only here.
    No stream captures it: it is a notice for whoever listens now, not part of any log.
    """
    return f"{namespace}._rebuilt.{prefix}"


async def rebuild(
    engine: AsyncEngine,
    projection: Projection,
    *,
    prefix: str,
    nats_url: str,
    namespace: str,
    check: bool = False,
    progress: Progress | None = None,
    follow_up: FollowUp | None = None,
    keyring: KeyRing | None = None,
) -> RebuildReport:
    """Recompute ``projection`` from its source stream; replace it (or, with ``check``, compare).

    ``prefix`` is the consuming service, as its live consumer uses it (``ProjectionSet.prefix``):
    its checkpoint for the projection is the one read, locked and set. A ``follow_up`` runs its
    ``after_replace`` in the replacing transaction. With ``keyring`` (every service passes its own)
    only genuine events count, as for the live consumer; either way an event id counts once.
    """
    stream = stream_name(namespace, projection.source_service)
    subjects = service_subjects(namespace, projection.source_service)
    name = consumer_name(projection, prefix)
    model = MemoryModel(projection.tables)
    applied_ids: set[str] = set()
    events = 0
    last_relevant = 0
    event_types = projection.event_types

    pending: list[Msg] = []

    def on_message(msg: Msg) -> None:
        if progress is not None:
            progress(msg.metadata.sequence.stream, end)
        event_type = subject_event_type(msg.subject)  # skip other types unparsed
        if event_type is not None and event_type not in event_types:
            return
        pending.append(msg)
        if len(pending) >= _CHECK_BATCH:
            apply_pending()

    def apply_pending() -> None:
        # Checked in batches: one signature per chained run of a stream (shared.messaging.admission).
        nonlocal events, last_relevant
        admissions = admit_batch([(m.subject, m.data, m.metadata.sequence.stream) for m in pending], keyring,
                                 namespace=namespace, service=projection.source_service)
        for msg, admission in zip(pending, admissions, strict=True):
            envelope = admission.envelope
            if envelope is None or not admission.admitted or envelope.id in applied_ids:
                continue  # the live consumer dead-letters (or skips) these; the model never contains them
            if envelope.type not in event_types:
                continue
            try:
                payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
            except (ValidationError, ValueError):
                continue
            model.apply(projection.changes(envelope, payload))
            applied_ids.add(envelope.id)
            events += 1
            last_relevant = msg.metadata.sequence.stream
        pending.clear()

    nc = await connect_until_ready(nats_url, name=f"rebuild-{projection.name}")
    try:
        end = await stream_last_sequence(nc, stream)
        if not check:
            staged = await replace_staged(engine, projection, nc, stream=stream, subjects=subjects, name=name,
                                          namespace=namespace, end=end, keyring=keyring, follow_up=follow_up,
                                          progress=progress)
            report = RebuildReport(projection.name, staged.position, staged.events, staged.rows, replaced=True)
            # committed: tell the serving processes, whose cached views still show the old tables
            await nc.publish(rebuilt_subject(namespace, prefix), projection.name.encode())
            await nc.flush()
            return report
        await replay(nc, stream, subjects, start=1, end=end, on_message=on_message)
        apply_pending()
        position = end
        async with write_lock(engine), writer(engine).begin() as conn:
            live = await applied_position(conn, name, stream, lock=True)
            if live > position:
                await replay(nc, stream, subjects, start=position + 1, end=live, on_message=on_message)
                apply_pending()
                position = live
            report = RebuildReport(projection.name, position, events,
                                   {t.name: len(model.rows[t.name]) for t in projection.tables})
            # The live checkpoint is a lower bound: a consumer does not write one for a batch
            # with nothing for its read model. It is behind only if it lacks a relevant event.
            if live < last_relevant:
                report.differences.append(
                    f"the live model is at {live}, before the event at {last_relevant} it needs: "
                    "compare again when it catches up")
            report.differences.extend(await _compare(conn, projection, model))
            await conn.rollback()
            return report
    finally:
        await nc.close()


async def _compare(conn: AsyncConnection, projection: Projection, model: MemoryModel) -> list[str]:
    differences: list[str] = []
    for table in projection.tables:
        keys = [c.name for c in table.primary_key.columns]

        def keyed(rows: list[dict[str, Any]], keys: list[str] = keys) -> dict[tuple[Any, ...], dict[str, Any]]:
            return {tuple(r[k] for k in keys): r for r in rows}

        live = keyed([dict(r._mapping) for r in await conn.execute(select(table))])
        rebuilt = keyed(model.table_rows(table))
        for key in sorted(set(live) | set(rebuilt), key=str):
            if live.get(key) != rebuilt.get(key):
                differences.append(f"{table.name}{list(key)}: live {live.get(key)} != rebuilt {rebuilt.get(key)}")
                if len(differences) > 20:
                    return differences
    return differences
