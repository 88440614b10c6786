"""A replacing rebuild that streams: the new model is written to staging tables as the stream is read.

A rebuild that held the whole model in memory grew with the province (a million persons' coverage
and their event ids: gigabytes). Here the stream is read ``WINDOW`` messages at a time and applied
in chunks of ``CHUNK`` messages, each in a short transaction of its own, to ``<table>__rebuild``
copies of the projection's tables (folded and written per table, as the live consumer does),
with the ids applied recorded under ``<checkpoint>#rebuild``. The chunks write the rows only;
a tally's counters are counted once the rows are complete, subject by subject
(``shared.staged_fold``), unless a tally's tables also change outside it: then every chunk
moves them as the live consumer does (``shared.projection.apply_folded``), from scratch.
Memory stays at one window. Then one transaction that holds the checkpoint applies what the live
consumer got beyond the replayed end, copies the staging tables over the live ones
(``INSERT … SELECT``, in the database), hands the ids over and sets the checkpoint: readers see
the old model until it commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError
from sqlalchemy import Column, Index, MetaData, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared import gc_tuning
from shared.catalogue import EventPayload, decode_payload
from shared.db import write_lock, writer
from shared.envelope import Envelope
from shared.eventstore.applied import claim_applied
from shared.eventstore.tables import applied_events
from shared.eventstore.tracking import applied_position, record_position
from shared.messaging.admission import PlannedBatch, plan_batch
from shared.messaging.feeds import FollowUp
from shared.messaging.replay import replay
from shared.messaging.subjects import subject_event_type
from shared.projection import Operation, Projection, RowOperation, Tally, apply_folded, retarget
from shared.signature_check import Checked, SignatureVerifier, verify_signatures
from shared.signing import KeyRing
from shared.staged_fold import count_tallies, row_changes, write_rows

CHUNK = 2000  # messages applied (and signature-checked) per staging transaction
WINDOW = 20_000  # messages read per ordered consumer (~30 MB held at most)
HELPER_FROM = 20_000  # messages in the stream from which signatures are verified in a helper process
Progress = Callable[[int, int], None]
ApplyChunk = Callable[[AsyncConnection, PlannedBatch, Checked], Awaitable[None]]


@dataclass
class Staged:
    """What a staged rebuild did: its position, the events applied, the rows per table."""

    position: int
    events: int
    rows: dict[str, int]


def staging_table(table: Table) -> Table:
    """A copy of ``table`` (columns, key, defaults, indexes) named ``<name>__rebuild``."""
    columns = []
    for column in table.columns:
        default = column.default.arg if column.default is not None else None  # type: ignore[attr-defined]
        server_default = column.server_default.arg if column.server_default is not None else None  # type: ignore[attr-defined]
        columns.append(Column(column.name, column.type, primary_key=column.primary_key, nullable=column.nullable,
                              default=default, server_default=server_default))
    copy = Table(f"{table.name}__rebuild", MetaData(), *columns)
    for index in table.indexes:  # a tally reads a subject's rows by its column: keep the indexes
        Index(f"{index.name}__rebuild", *(copy.c[c.name] for c in index.columns), unique=bool(index.unique))
    return copy


async def replace_staged(
    engine: AsyncEngine, projection: Projection, nc: Client, *, stream: str, subjects: str, name: str,
    namespace: str, end: int, keyring: KeyRing | None, follow_up: FollowUp | None, progress: Progress | None,
) -> Staged:
    """Rebuild ``projection`` into staging tables chunk by chunk, then swap it in (see the module)."""
    # A window holds tens of thousands of messages, envelopes and operations at once: with the
    # collector's default thresholds they are scanned again and again (a third of the CPU of
    # parsing and decoding them). Tuned as a service's runtime tunes it; the CLI's rebuild has none.
    gc_tuning.settle()
    staging = {t.name: staging_table(t) for t in projection.tables}
    staged_name = f"{name}#rebuild"
    tallies: dict[str, Tally] = {}  # the projection's tallies over the staging tables, made once
    counted: dict[str, Tally] = {}  # the tallies whose counters the chunks left to count_tallies
    plain: set[str] = set()  # the tables those chunks changed by operations outside any tally
    changes_rows = row_changes(projection.changes, counted, plain)
    event_types = projection.event_types
    done = Staged(0, 0, {})
    pending: list[Msg] = []

    def plan(messages: list[Msg], *, hash_elsewhere: bool) -> PlannedBatch:
        return plan_batch([(m.subject, m.data, m.metadata.sequence.stream) for m in messages], keyring,
                          namespace=namespace, service=projection.source_service, hash_elsewhere=hash_elsewhere)

    async def apply_chunk(conn: AsyncConnection, planned: PlannedBatch, checked: Checked, *,
                          counters: bool = True) -> None:
        """Apply a chunk to the staging tables; with ``counters``, its tallies' counters moved
        too (``apply_folded``), else the rows only (``write_rows``: ``count_tallies`` at the end)."""
        holds, verified = checked
        admissions = planned.settle(verified, holds)
        decoded: dict[str, tuple[Envelope, EventPayload]] = {}  # by id: the first that decodes
        for admission in admissions:
            envelope = admission.envelope
            if envelope is None or not admission.admitted or envelope.type not in event_types:
                continue  # the live consumer dead-letters (or skips) these; the model never contains them
            if envelope.id in decoded:
                continue
            try:
                payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
            except (ValidationError, ValueError):
                continue
            decoded[envelope.id] = (envelope, payload)
        # recorded and checked in one go: an id applied in an earlier chunk is not fresh
        fresh = await claim_applied(conn, staged_name, decoded)
        if not counters:
            rows: list[RowOperation] = []
            for event_id, (envelope, payload) in decoded.items():
                if event_id in fresh:
                    rows += changes_rows(envelope, payload)
                    done.events += 1
            await write_rows(conn, rows, staging)
            return
        operations: list[Operation] = []
        for event_id, (envelope, payload) in decoded.items():
            if event_id in fresh:
                operations += [retarget(op, staging, tallies) for op in projection.changes(envelope, payload)]
                done.events += 1
        await apply_folded(conn, operations)

    rows_only = partial(apply_chunk, counters=False)

    def collect(msg: Msg) -> None:
        if progress is not None:
            progress(msg.metadata.sequence.stream, end)
        # With signatures to check, the types the projection skips are admitted too (and dropped
        # after): they are links of their streams' chains, so that one signature covers a
        # person's events instead of one per event after each gap. Without, skip them unparsed
        # (the subject read only then: this runs for every message).
        if keyring is not None:
            pending.append(msg)
            return
        event_type = subject_event_type(msg.subject)
        if event_type is None or event_type in event_types:
            pending.append(msg)

    async def empty_staging() -> None:
        async with write_lock(engine), writer(engine).begin() as conn:
            await _drop(conn, staging.values())
            for table in staging.values():
                await conn.run_sync(table.create)
            await conn.execute(delete(applied_events).where(applied_events.c.consumer == staged_name))

    async def stage(apply: ApplyChunk) -> int:
        # Read a window at a time with a callback that only collects (a slow callback would make
        # the client drop messages), then apply it in chunks: memory stays at one window. Each
        # chunk's signatures are verified (by the verifier's helper process, on the other core, which
        # also confirms the signed bodies' content hashes) while the chunk before is applied; a chunk
        # is applied only once they are.
        ahead: tuple[PlannedBatch, asyncio.Future[Checked]] | None = None
        position = 0
        while position < end:
            upto = min(position + WINDOW, end)
            await replay(nc, stream, subjects, start=position + 1, end=upto, on_message=collect)
            window = pending[:]
            pending.clear()
            for start in range(0, len(window), CHUNK):
                planned = plan(window[start:start + CHUNK], hash_elsewhere=verifier.in_helper)
                verifying = verifier.check(planned.hash_jobs(), planned.jobs())
                if ahead is not None:
                    await _apply_verified(engine, apply, *ahead)
                ahead = (planned, verifying)
            position = upto
        if ahead is not None:
            await _apply_verified(engine, apply, *ahead)
        return position

    await empty_staging()
    # A helper pays off over a long read only: starting it costs a python start-up (~0.3 s of CPU)
    verifier = SignatureVerifier(helper=keyring is not None and end > HELPER_FROM)
    try:
        # The rows first, the counters once they are complete (the live remainder below moves them)
        position = await stage(rows_only)
        if any(t.name in plain for tally in counted.values() for t in (*tally.sources, *tally.counters)):
            # A tally's tables also changed outside it, which moves no counter live: only moving
            # them event by event, as the live consumer does, gives its counters. Again so.
            await empty_staging()
            done.events = 0
            position = await stage(apply_chunk)
        elif counted:
            async with write_lock(engine), writer(engine).begin() as conn:
                await count_tallies(conn, counted.values(), staging)
        async with write_lock(engine), writer(engine).begin() as conn:
            live = await applied_position(conn, name, stream, lock=True)
            if live > position:  # what the live consumer applied meanwhile (little: it waits for us now)
                await replay(nc, stream, subjects, start=position + 1, end=live, on_message=collect)
                planned = plan(pending, hash_elsewhere=False)
                pending.clear()
                await apply_chunk(conn, planned, ([], verify_signatures(planned.jobs())))
                position = live
            for table in projection.tables:
                copy = staging[table.name]
                await conn.execute(delete(table))
                await conn.execute(insert(table).from_select([c.name for c in table.columns],
                                                             select(*(copy.c[c.name] for c in table.columns))))
                done.rows[table.name] = int((await conn.execute(select(func.count()).select_from(copy))).scalar_one())
            await _drop(conn, staging.values())
            if follow_up is not None:
                await follow_up.after_replace(conn)
            await record_position(conn, name, stream, position)
            await conn.execute(delete(applied_events).where(applied_events.c.consumer == name))
            await conn.execute(update(applied_events).where(applied_events.c.consumer == staged_name)
                               .values(consumer=name))
            done.position = position
    except BaseException:
        await verifier.aclose()
        async with write_lock(engine), writer(engine).begin() as conn:  # leave nothing behind
            await _drop(conn, staging.values())
            await conn.execute(delete(applied_events).where(applied_events.c.consumer == staged_name))
        raise
    finally:
        await verifier.aclose()
    return done


async def _apply_verified(
    engine: AsyncEngine, apply_chunk: ApplyChunk, planned: PlannedBatch, checking: asyncio.Future[Checked],
) -> None:
    """Once a chunk's signatures are verified, apply it in a transaction of its own."""
    checked = await checking
    async with write_lock(engine), writer(engine).begin() as conn:
        await apply_chunk(conn, planned, checked)


async def _drop(conn: AsyncConnection, tables: Iterable[Table]) -> None:
    for table in tables:
        await conn.run_sync(partial(table.drop, checkfirst=True))
