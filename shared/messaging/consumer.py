"""Durable JetStream consumers that apply events to a read model exactly once.

Each fetched batch is applied in one database transaction together with the consumer's
checkpoint (the last stream sequence applied), and acknowledged only after that commits. A crash
between commit and acknowledgement makes JetStream redeliver; the checkpoint makes us skip what
was already applied. An event that cannot be decoded, or whose handler keeps failing, goes to the
``dead_letters`` table with the reason, and the consumer moves on past it.

Why nats-py pull subscriptions rather than a FastStream subscriber: ``fetch`` returns whatever is
waiting at once (or the first message to arrive), which gives both batching under load and
sub-millisecond latency when idle; FastStream's batch mode waits for a full batch or its timeout
(docs/measurements.md: p50 103 ms), and its one-message handlers cost one transaction each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import structlog
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.catalogue import EventPayload, decode_payload
from shared.db import write_lock, writer
from shared.envelope import Envelope, utcnow
from shared.eventstore.applied import already_applied, claim_pairs, record_applied
from shared.eventstore.tables import dead_letters
from shared.eventstore.tracking import applied_position, applied_positions, record_positions
from shared.leadership import Lease, LeaseLost
from shared.messaging.admission import Admission, PlannedBatch, plan_batch
from shared.messaging.connection import connect_until_ready
from shared.messaging.pull import quicken
from shared.messaging.retry import Backoff, retry_until_ready
from shared.messaging.subjects import service_subjects, stream_name, subject_event_type
from shared.messaging.worker import NatsWorker
from shared.observability import CONSUMER_LAG, CONSUMER_POSITION, DEAD_LETTERS, EVENTS_APPLIED, EVENTS_SKIPPED
from shared.projection import Changes, Operation, apply_folded
from shared.signature_check import Checked, SignatureVerifier, verify_signatures
from shared.signing import KeyRing
from shared.sqlite_driver import live_fused

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncConnection, Envelope, EventPayload], Awaitable[None]]
AfterCommit = Callable[[list[Envelope]], None]


HELPER_FROM = 500
"""Signatures in one batch from which they are verified in a helper process (catching up: a batch
of thousands of events has about one per chained run, ~45 µs each) while this process decodes the
batch's payloads and works out its operations. Fewer (a live batch) are verified here, at once.
From as many messages in a batch, their bodies' content hashes are confirmed there too."""


class _HandlerFailed(Exception):
    """A handler raised on the fast path: the batch is redone event by event."""


@dataclass
class _Prepared:
    """An event's payload (or why it did not decode) and each feed's operations (or what its
    ``changes`` raised), worked out while the batch's signatures are verified; used only if the
    event is admitted and not applied before."""

    payload: EventPayload | None
    error: Exception | None
    operations: dict[str, Sequence[Operation] | Exception]


@dataclass(frozen=True)
class Feed:
    """One read model fed by a consumer: its checkpoint name, its handler, the events it reads.

    ``changes``: the pure logic of a projection whose handler only applies its operations. If
    every feed of a consumer has one, a batch's operations are folded and written per table
    (``shared.projection.apply_folded``) instead of event by event.
    """

    name: str
    handler: Handler
    event_types: frozenset[str]
    changes: Changes | None = None


class DurableConsumer(NatsWorker):
    """Feeds one source service's stream into one or more read models, once per event, in order.

    Several read models of one source share one durable consumer (one fetch, one transaction per
    batch), each with a checkpoint of its own, so that each can still be rebuilt on its own.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        nats_url: str,
        namespace: str,
        source_service: str,
        name: str,
        handler: Handler | None = None,
        event_types: Collection[str] = (),
        feeds: Sequence[Feed] = (),
        after_commit: AfterCommit | None = None,
        batch_size: int = 1000,
        catch_up_batch_size: int = 5000,
        max_attempts: int = 3,
        fetch_timeout: float | None = None,
    ) -> None:
        self._engine = engine
        self._nats_url = nats_url
        self._namespace = namespace
        self._source_service = source_service
        self.stream = stream_name(namespace, source_service)
        self.name = name
        # Unacknowledged messages are redelivered to the next run after a stop.
        super().__init__(f"consumer-{name}-{self.stream}")
        if handler is not None:
            feeds = (*feeds, Feed(name, handler, frozenset(event_types)))
        if not feeds:
            raise ValueError(f"consumer {name} feeds nothing: give a handler or feeds")
        self._feeds = tuple(feeds)
        self._event_types = frozenset().union(*(f.event_types for f in self._feeds))
        # Which feeds read each event type, looked up once per message instead of per feed.
        self._readers = {t: tuple(f for f in self._feeds if t in f.event_types) for t in self._event_types}
        # The names of the feeds reading each event type, for the applied-ids query.
        self._names_reading = {t: tuple(f.name for f in r) for t, r in self._readers.items()}
        self._after_commit = after_commit
        self._batch_size = batch_size
        self._catch_up_batch_size = max(batch_size, catch_up_batch_size)
        # Folding a batch in memory needs every read model to be a plain projection.
        self._folds = all(f.changes is not None for f in self._feeds)
        self._max_attempts = max_attempts
        self.fetch_timeout = fetch_timeout
        """Seconds one fetch waits on an idle stream (None: the service's ``QD_CONSUMER_FETCH_TIMEOUT``, else 5)."""
        # One process of a service consumes (several share one durable and one checkpoint row).
        self.lease = Lease(engine, f"qingdan-consumer:{namespace}:{name}")
        self.position = 0
        self.lag = 0
        """Events in the stream after the last batch fetched (from the server's count), as of that fetch."""
        self._keyring: KeyRing | None = None
        self._verifier: SignatureVerifier | None = None

    async def _run(self) -> None:
        self._nc = await connect_until_ready(self._nats_url, name=f"qingdan-{self.name}")
        js = self._nc.jetstream()
        await self.lease.acquire()  # another process of this service may be consuming: stand by
        async with self._engine.connect() as conn:
            # Resume at the read model that is furthest behind; the others skip what they have.
            self.position = min([await applied_position(conn, f.name, self.stream) for f in self._feeds])
        # The owning service may not have created its stream yet (not found), or the cluster may
        # be electing its leader (timeout, unavailable): both are waits, not failures.
        await retry_until_ready(lambda: js.stream_info(self.stream), what="source stream",
                                retry_on=(NotFoundError, TimeoutError, ServiceUnavailableError),
                                quiet=(NotFoundError,), backoff=Backoff(0.1, 2.0), stream=self.stream)
        # Our checkpoint, not the server's consumer state, says where to resume: re-create the
        # durable there. Otherwise messages handed to a crashed predecessor would only come back
        # after ack_wait, and a database restored from backup would miss what it lost.
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(self.stream, self.name)
        config = ConsumerConfig(
            ack_policy=AckPolicy.ALL,
            ack_wait=30,
            max_ack_pending=20_000,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if self.position else DeliverPolicy.ALL,
            opt_start_seq=self.position + 1 if self.position else None,
        )
        sub = await js.pull_subscribe(
            service_subjects(self._namespace, self._source_service),
            durable=self.name,
            stream=self.stream,
            config=config,
        )
        quicken(sub)  # a batch's delivered messages taken from the queue without a task each
        self.task.recovered()
        backoff = Backoff(0.1, 5.0)
        while True:
            if not await self.lease.confirm():
                raise LeaseLost(f"consumer {self.name}: lease lost; resuming from the checkpoint once it is ours")
            try:
                # Far behind (catching up, a rebuilt database): fewer, bigger transactions.
                size = self._catch_up_batch_size if self.lag >= self._batch_size else self._batch_size
                msgs = await sub.fetch(size, timeout=self.fetch_timeout or 5.0)
            except TimeoutError:
                continue  # nothing arrived: an idle stream
            except Exception as exc:  # connection lost: nats-py reconnects, we try again
                delay = backoff.next()
                log.warning("fetch failed", consumer=self.name, error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)  # back-off while the connection recovers
                continue
            if not msgs:
                continue  # nats-py may end a pull with no message and no error: idle, not a failure
            self.lag = msgs[-1].metadata.num_pending
            CONSUMER_LAG.labels(self.name, self.stream).set(self.lag)
            try:
                applied = await self._apply_batch(msgs)
            except Exception as exc:  # the database failed: nothing was applied, let JetStream redeliver
                delay = backoff.next()
                log.error("batch not applied, will be redelivered", consumer=self.name, error=repr(exc),
                          retry_in=delay)
                self.lag += len(msgs)
                CONSUMER_LAG.labels(self.name, self.stream).set(self.lag)
                for msg in msgs:
                    with contextlib.suppress(Exception):
                        await msg.nak(delay=delay)
                await asyncio.sleep(delay)  # back-off while the database recovers
                continue
            backoff.reset()
            self.task.recovered()
            with contextlib.suppress(Exception):
                await msgs[-1].ack()  # AckPolicy.ALL: acknowledges the whole batch
            if applied and self._after_commit is not None:
                self._after_commit(applied)

    async def _close(self) -> None:
        """Give up the lease with the connection, so that a standby process takes over at once."""
        try:
            await self.lease.release()
        finally:
            try:
                if self._verifier is not None:
                    await self._verifier.aclose()
            finally:
                await super()._close()

    @staticmethod
    def _type_of(msg: Msg) -> str | None:
        return subject_event_type(msg.subject)

    def _relevant(self, msg: Msg) -> bool:
        event_type = self._type_of(msg)
        return event_type is None or event_type in self._event_types

    async def _apply_batch(self, msgs: list[Msg]) -> list[Envelope]:
        """Apply a batch in one transaction; if any handler fails, redo it one savepoint per event."""
        if not msgs:
            return []
        if not any(self._relevant(m) for m in msgs):
            # Nothing for this read model: no transaction. The checkpoint stays a lower bound and
            # moves with the next batch that matters; re-reading these after a restart is harmless.
            self.position = max(self.position, msgs[-1].metadata.sequence.stream)
            return []
        try:
            return await self._apply_in_transaction(msgs, careful=False)
        except _HandlerFailed:
            return await self._apply_in_transaction(msgs, careful=True)

    async def _apply_in_transaction(self, msgs: list[Msg], *, careful: bool) -> list[Envelope]:
        applied: dict[str, Envelope] = {}
        # Each message's stream sequence and event type, read once (nats-py parses them per access).
        sequences = [m.metadata.sequence.stream for m in msgs]
        types = [self._type_of(m) for m in msgs]
        async with write_lock(self._engine), writer(self._engine).begin() as conn:
            # One query for every feed's checkpoint, one statement to move them (a lone event moves all)
            positions = await applied_positions(conn, [f.name for f in self._feeds], self.stream, lock=True)
            lowest, highest = min(positions.values()), max(positions.values())
            wanted = [i for i, t in enumerate(types)
                      if (t is None or t in self._event_types) and sequences[i] > lowest]
            planned = self._plan([msgs[i] for i in wanted], [sequences[i] for i in wanted])
            verifying = self._check(planned)
            # The fast path folds every event's operations and writes them once, after the loop.
            folded: list[Operation] | None = [] if self._folds and not careful else None
            # While the signatures are verified (a big batch's in the helper process), what does
            # not depend on them: (fast path) each parsed event's payload and operations, pure
            # functions of it, kept only if it is admitted; (careful path) which were applied before.
            envelopes = [d.envelope for d in planned.deliveries]
            prepared = self._prepare(envelopes) if folded is not None else {}
            seen = await self._already_applied(conn, envelopes) if folded is None else set()
            holds, verified = await verifying
            admissions = dict(zip(wanted, planned.settle(verified, holds), strict=True))
            claimed: set[tuple[str, str]] | None = None
            if folded is not None:
                # The (feed, event id) pairs this batch applies, recorded first: the table's key
                # says which were applied before (no read by IN list, no second write).
                claims = self._claims(wanted, types, sequences, positions, highest, admissions, prepared)
                claimed = await claim_pairs(conn, claims)
                seen = set(claims) - claimed
            fresh: list[tuple[str, str]] = []
            counts: dict[str, int] = {}
            skipped = sum(1 for sequence in sequences if sequence <= lowest)
            for index in wanted:
                sequence = sequences[index]
                # Catching up, every read model is behind every message: no per-feed comparison.
                feeds = (self._feeds if sequence > highest
                         else [f for f in self._feeds if sequence > positions[f.name]])
                done = await self._apply_one(conn, msgs[index], types[index], sequence, feeds, admissions[index],
                                             seen, careful=careful, folded=folded, prepared=prepared)
                for feed, envelope in done:
                    applied[envelope.id] = envelope
                    fresh.append((feed.name, envelope.id))
                    counts[feed.name] = counts.get(feed.name, 0) + 1
            # SQLite: the folded writes and the checkpoints are held for the COMMIT's hand-off (a
            # read between them takes them along, in order): a lone event's ~8 writes cost no
            # hand-off of their own.
            held = live_fused(conn) if folded else None
            if held is not None:
                held.defer_writes()
            if folded:
                try:
                    await apply_folded(conn, folded)
                except Exception as exc:
                    raise _HandlerFailed from exc
            if claimed is None:
                await record_applied(conn, fresh)
            elif set(fresh) != claimed:  # cannot happen; if it did, redo the batch the careful way
                log.error("claimed applied ids differ from those applied", consumer=self.name,
                          claimed=len(claimed), applied=len(fresh))
                raise _HandlerFailed("claimed applied ids differ from those applied")
            # Messages arrive in stream order: every read model behind the batch's last one is now there.
            last = sequences[-1]
            moved = {name: last for name, position in positions.items() if last > position}
            positions.update(moved)
            await record_positions(conn, self.stream, moved)
            if held is not None:
                try:
                    await held.run_steps([], commit=True)  # the held writes fail here, if at all
                except Exception as exc:
                    raise _HandlerFailed from exc
        if skipped:
            EVENTS_SKIPPED.labels(self.name).inc(skipped)
        for name, count in counts.items():
            EVENTS_APPLIED.labels(name).inc(count)
        self.position = max(self.position, last)
        for name, position in positions.items():
            CONSUMER_POSITION.labels(name, self.stream).set(position)
        return list(applied.values())

    async def _already_applied(self, conn: AsyncConnection, envelopes: Iterable[Envelope]) -> set[tuple[str, str]]:
        """Which (feed, event id) pairs of the batch were applied before: one query per set of feeds
        reading an event type, asking only those feeds (an index probe per pair that could exist,
        not one per feed of the consumer for every event)."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for envelope in envelopes:
            # A type no feed reads (whatever its subject said) is applied by none (_apply_one).
            names = self._names_reading.get(envelope.type, ())
            if names:
                groups.setdefault(names, []).append(envelope.id)
        seen: set[tuple[str, str]] = set()
        for names, ids in groups.items():
            seen |= await already_applied(conn, names, ids)
        return seen

    def trust(self, keyring: KeyRing) -> None:
        """Apply only events signed by a key of ``keyring`` for their subject (set before start)."""
        self._keyring = keyring

    def _plan(self, msgs: list[Msg], sequences: list[int]) -> PlannedBatch:
        """Parse the messages and check all but their signatures (``admit_batch`` in two steps);
        ``sequences``: their stream sequences, read once by the caller (nats-py parses the reply
        subject on every access to ``metadata``)."""
        elsewhere = self._keyring is not None and len(msgs) >= HELPER_FROM and self._helper().in_helper
        return plan_batch([(m.subject, m.data, sequence) for m, sequence in zip(msgs, sequences, strict=True)],
                          self._keyring, namespace=self._namespace, service=self._source_service,
                          hash_elsewhere=elsewhere)

    def _check(self, planned: PlannedBatch) -> asyncio.Future[Checked]:
        """A future of the batch's hash jobs' and signatures' checks: a big batch's in a helper
        process (on the other core, while this one prepares the batch), a small one's here and now."""
        hashes, jobs = planned.hash_jobs(), planned.jobs()
        if not hashes and len(jobs) < HELPER_FROM:
            done: asyncio.Future[Checked] = asyncio.get_running_loop().create_future()
            done.set_result(([], verify_signatures(jobs)))
            return done
        return self._helper().check(hashes, jobs)

    def _helper(self) -> SignatureVerifier:
        """The verifier of big batches (its helper process starts with its first batch)."""
        if self._verifier is None:
            self._verifier = SignatureVerifier()
        return self._verifier

    def _claims(
        self, wanted: list[int], types: list[str | None], sequences: list[int], positions: dict[str, int],
        highest: int, admissions: dict[int, Admission], prepared: dict[int, _Prepared],
    ) -> list[tuple[str, str]]:
        """The (feed, event id) pairs the fast path would apply unless applied before: as
        ``_apply_one`` chooses its readers, for the admitted events whose payload decoded."""
        pairs: list[tuple[str, str]] = []
        for index in wanted:
            admission = admissions[index]
            envelope = admission.envelope
            if envelope is None or admission.reason is not None:
                continue
            early = prepared.get(id(envelope))
            if early is None or early.error is not None:  # read by no feed, or dead-lettered
                continue
            sequence, event_type = sequences[index], types[index]
            candidates = self._feeds if event_type is None else self._readers[event_type]
            pairs += [(f.name, envelope.id) for f in candidates
                      if (sequence > highest or sequence > positions[f.name]) and envelope.type in f.event_types]
        return pairs

    def _prepare(self, envelopes: Sequence[Envelope]) -> dict[int, _Prepared]:
        """Each envelope's payload and its feeds' operations, by the envelope's identity."""
        prepared: dict[int, _Prepared] = {}
        for envelope in envelopes:
            readers = self._readers.get(envelope.type)
            if not readers:
                continue
            try:
                payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
            except (ValidationError, ValueError) as exc:
                prepared[id(envelope)] = _Prepared(None, exc, {})
                continue
            operations: dict[str, Sequence[Operation] | Exception] = {}
            for feed in readers:
                if feed.changes is None:
                    continue
                try:
                    operations[feed.name] = feed.changes(envelope, payload)
                except Exception as exc:  # raised again if the event is applied: the batch is redone
                    operations[feed.name] = exc
            prepared[id(envelope)] = _Prepared(payload, None, operations)
        return prepared

    async def _apply_one(
        self, conn: AsyncConnection, msg: Msg, event_type: str | None, sequence: int, feeds: Sequence[Feed],
        admission: Admission, seen: set[tuple[str, str]], *, careful: bool, folded: list[Operation] | None = None,
        prepared: dict[int, _Prepared] | None = None,
    ) -> list[tuple[Feed, Envelope]]:
        # A subject without an event type: any feed may read it, its envelope says.
        candidates = self._feeds if event_type is None else self._readers[event_type]
        readers = [f for f in candidates if f in feeds] if feeds is not self._feeds else list(candidates)
        if not readers:
            return []
        envelope = admission.envelope
        if envelope is None or admission.reason is not None:
            for feed in readers:
                await self._dead_letter(conn, feed.name, msg, sequence, envelope, admission.reason or "refused")
            return []
        readers = [f for f in readers if envelope.type in f.event_types]
        replayed = [f for f in readers if (f.name, envelope.id) in seen]
        if replayed:
            log.warning("event applied before, skipped", event_id=envelope.id, sequence=sequence,
                        consumers=[f.name for f in replayed])
            EVENTS_SKIPPED.labels(self.name).inc()
        readers = [f for f in readers if (f.name, envelope.id) not in seen]
        if not readers:
            return []
        early = prepared.get(id(envelope)) if prepared else None
        try:
            if early is not None and early.error is not None:
                raise early.error
            payload = (early.payload if early is not None and early.payload is not None
                       else decode_payload(envelope.type, envelope.schema_version, dict(envelope.data)))
        except (ValidationError, ValueError) as exc:
            for feed in readers:
                await self._dead_letter(conn, feed.name, msg, sequence, envelope, f"payload rejected: {exc}")
            return []
        done: list[tuple[Feed, Envelope]] = []
        for feed in readers:
            if not careful:
                try:
                    if folded is not None and feed.changes is not None:
                        operations = early.operations.get(feed.name) if early is not None else None
                        if isinstance(operations, Exception):
                            raise operations
                        folded.extend(operations if operations is not None else feed.changes(envelope, payload))
                    else:
                        await feed.handler(conn, envelope, payload)
                except Exception as exc:
                    raise _HandlerFailed from exc
                done.append((feed, envelope))
                continue
            error: Exception | None = None
            for _attempt in range(self._max_attempts):
                try:
                    async with conn.begin_nested():
                        await feed.handler(conn, envelope, payload)
                    done.append((feed, envelope))
                    break
                except Exception as exc:  # a handler bug or bad data: retried, then dead-lettered
                    error = exc
            else:
                await self._dead_letter(conn, feed.name, msg, sequence, envelope, f"handler failed: {error!r}")
        # The same id twice in one batch counts once as well.
        seen.update((feed.name, envelope.id) for feed, _ in done)
        return done

    async def _dead_letter(
        self, conn: AsyncConnection, feed: str, msg: Msg, sequence: int, envelope: Envelope | None, reason: str
    ) -> None:
        log.error("dead letter", consumer=feed, sequence=sequence, reason=reason)
        DEAD_LETTERS.labels(feed).inc()
        await conn.execute(
            insert(dead_letters).values(
                consumer=feed,
                source=self.stream,
                sequence=sequence,
                subject=msg.subject,
                event_id=envelope.id if envelope else None,
                event_type=envelope.type if envelope else None,
                reason=reason[:4000],
                body=msg.data.decode(errors="replace"),
                failed_at=utcnow(),
            )
        )
