"""The checklists repository: streams are our own or replicas of another instance's, and a task or
highlight is two halves, each with one writer (``domain/ownership.py``).

This instance's event store holds the halves it writes, ``replica_events`` the halves other
instances wrote; :class:`ChecklistsRepository` reads either and refuses to append to a replica.
After a copied event, :func:`refresh` rewrites that stream's lookup row with the same inline
projection a command's save uses (``lookup_rows``): a row never depends on the other half, so the
command writer and the replica consumer never write the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import replica_events
from services.checklists.application.lookup_rows import LOOKUP_ROWS
from services.checklists.domain import highlight as highlight_domain
from services.checklists.domain import ownership
from services.checklists.domain import task as task_domain
from shared.aggregate import fold
from shared.catalogue import decode_payload
from shared.envelope import Envelope
from shared.errors import Forbidden, NotFound
from shared.eventstore import EventStore, RecordedEvent, Stream
from shared.eventstore.repository import Change, Loaded, Reader, Repository
from shared.projection import apply_sql

if TYPE_CHECKING:
    from services.checklists.application.deps import ChecklistsDeps


@dataclass(frozen=True)
class TaskHalves:
    """A task's two streams, its issuer's half folded alone, and its combined state."""

    issue: Stream
    work: Stream
    state: task_domain.Task
    issue_state: task_domain.Task | None

    @property
    def issued(self) -> Loaded[task_domain.Task | None]:
        """The issuer's half, ready to save through ``TASK_ISSUE``."""
        return Loaded(self.issue, self.issue_state)


@dataclass(frozen=True)
class HighlightHalves:
    """A highlight's two streams and its combined state."""

    submission: Stream
    review: Stream
    state: highlight_domain.Highlight


class ChecklistsRepository(Repository):
    """Our streams or the replicas of other instances' streams; appends only to our own."""

    def __init__(self, store: EventStore, *, served: frozenset[str], is_issuer: bool) -> None:
        super().__init__(store, LOOKUP_ROWS)
        self.served = served
        self.is_issuer = is_issuer

    async def read(self, reader: Reader, stream_id: str) -> Stream:
        """A stream from our own log if we write it, else from the replicas (empty if neither has it)."""
        own = await self.store.load(reader, stream_id)
        if own.version:
            return own
        conn = reader if isinstance(reader, AsyncConnection) else reader.conn
        rows = (await conn.execute(
            select(replica_events.c.envelope).where(replica_events.c.stream_id == stream_id)
            .order_by(replica_events.c.version)
        )).scalars().all()
        recorded = []
        for raw in rows:
            envelope = Envelope.from_json(raw)
            payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
            recorded.append(RecordedEvent(position=0, envelope=envelope, payload=payload))
        if not recorded:
            return own
        last = recorded[-1].envelope
        return Stream(stream_id, last.stream_version, last.hash, recorded)

    def check_writable(self, stream: Stream) -> None:
        """A replica of another instance's stream is read-only (403)."""
        if stream.events and stream.events[0].envelope.department != self.store.department:
            owner = stream.events[0].envelope.department
            raise Forbidden(f"{stream.stream_id} is written by the {owner} instance, "
                            f"not this {self.store.department} one")

    async def task(self, reader: Reader, task_id: str) -> TaskHalves:
        """Both halves of a task known here; 404 if this instance has not heard of it."""
        issue = await self.read(reader, task_domain.task_stream_id(task_id))
        work = await self.read(reader, ownership.taskwork_stream_id(task_id))
        state = ownership.combined_task(issue.payloads, work.payloads)
        if state is None:
            if self.is_issuer:
                raise NotFound(f"no task {task_id}")
            raise NotFound(f"no task {task_id} here: this checklists instance knows only the tasks of "
                           f"{', '.join(sorted(self.served))}")
        return TaskHalves(issue, work, state, fold(task_domain.evolve, issue.payloads))

    async def highlight(self, reader: Reader, highlight_id: str) -> HighlightHalves:
        """Both halves of a highlight known here; 404 otherwise."""
        submission = await self.read(reader, highlight_domain.highlight_stream_id(highlight_id))
        review = await self.read(reader, ownership.highlight_review_stream_id(highlight_id))
        state = ownership.combined_highlight(submission.payloads, review.payloads)
        if state is None:
            raise NotFound(f"no highlight {highlight_id} here")
        return HighlightHalves(submission, review, state)


async def refresh(conn: AsyncConnection, deps: ChecklistsDeps, stream_id: str) -> None:
    """Rewrite the lookup row of the stream ``stream_id`` (after an event of it was copied here)."""
    stream = await deps.repository.read(conn, stream_id)
    if not stream.events:
        return
    change = Change(stream_id, Stream.empty(stream_id), stream.payloads, stream.version)
    await apply_sql(conn, LOOKUP_ROWS.changes(change))
