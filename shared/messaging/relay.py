"""The outbox relay: publishes committed events to JetStream, in order, none lost.

Woken through the :class:`~shared.eventstore.outbox.Outbox` after each commit (and by a slow poll,
for events committed by another process such as a CLI). Publishes a batch with many
acknowledgements in flight (``publish_async``; awaiting each publish caps a service near 4k
events/s, docs/measurements.md), with the event id as ``Nats-Msg-Id`` so that a retried batch is
de-duplicated by JetStream. Only the prefix of the batch that JetStream acknowledged is marked
published; the rest is retried, so NATS being down only delays publication.

Retries after a failure depend on its cause. A timeout, a "no responders" answer or a lost
connection is what a JetStream leader election or a reconnect looks like: the relay tries again
every ``election_retry`` seconds so that it resumes as soon as a leader exists. Anything else (the
database, say) backs off exponentially up to 5 s.

An event that can never be published (larger than the server's ``max_payload``: the event store's
size check normally prevents that) must not hold back the whole service. The relay *parks* its
stream: that event and the rest of its stream stay in the outbox, in order, while every other
stream is published; ``/health`` turns ``degraded`` naming the stream, and the gauge
``qingdan_relay_parked_streams`` counts them. Parked streams are kept in the ``parked_streams``
table, so a restart or another process taking the lease does not retry them blindly; a stream is
released by the operator (``python -m services.<name> release-stream ID``) or by itself when the
server's ``max_payload`` grows past the one it was parked under (docs/operations.md). Released, it
is parked again at once if its event still does not fit.

Several processes of one service may share a PostgreSQL database; only the one holding the
relay's :class:`~shared.leadership.Lease` publishes, the others stand by (connected to NATS, so
that they take over at once) and poll for the lease. Events committed by any process are in the
one outbox, so the leader publishes them all, in position order; a standby wakes the leader after
each of its commits with a PostgreSQL ``NOTIFY``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import nats.errors
import structlog
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from shared.eventstore.outbox import FORGET_DELAY, Outbox, ParkedStream
from shared.leadership import Lease
from shared.messaging.connection import connect_until_ready
from shared.messaging.retry import Backoff, retry_until_ready
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import event_subject
from shared.messaging.worker import NatsWorker
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, RELAY_PARKED_STREAMS

log = structlog.get_logger(__name__)

TRANSIENT = (
    TimeoutError,
    ConnectionError,
    NoStreamResponseError,
    ServiceUnavailableError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
)
"""Failures that last as long as an election or a reconnect: retried promptly, not backed off."""

PERMISSION_REFUSED = re.compile(r"permissions violation for publish to ['\"]?([^'\"\s]+)", re.IGNORECASE)
"""What nats-py hands its error callback when the server refuses a publish (nats-py lowercases it)."""

MAX_ACKNOWLEDGED = 1_000
"""Acknowledged rows kept before the relay deletes them itself (a drain): each outbox read skips those
kept, a comparison per row read with each (an array parameter is not hashed in a generic plan), so
in a drain they go at once, one DELETE per batch, and every read skips none."""


HEADER_ALLOWANCE = 512
"""Bytes the headers add to a message (``Nats-Msg-Id``, content type); the server counts them in ``max_payload``."""


class PartiallyAcknowledged(Exception):
    """JetStream acknowledged only a prefix of a batch; the rest is retried."""

    def __init__(self, confirmed: int, total: int, cause: BaseException | None) -> None:
        super().__init__(f"JetStream acknowledged {confirmed} of {total} events: {cause!r}")
        self.cause = cause


class OutboxRelay(NatsWorker):
    """Moves events from a service's outbox to its JetStream stream."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        nats_url: str,
        namespace: str,
        service: str,
        replicas: int = 1,
        declare_stream: bool = True,
        batch_size: int = 4000,
        publish_timeout: float = 5.0,
        poll_interval: float = 1.0,
        election_retry: float = 0.1,
        lease_retry: float = 1.0,
        max_event_bytes: int | None = None,
    ) -> None:
        super().__init__(f"outbox-relay-{service}")
        self.outbox = outbox
        self._nats_url = nats_url
        self._namespace = namespace
        self._service = service
        self._replicas = replicas
        self._declare_stream_on_start = declare_stream
        self._batch_size = batch_size
        self._publish_timeout = publish_timeout
        self._poll_interval = poll_interval
        self._election_retry = election_retry
        self._js: JetStreamContext | None = None
        self.published = 0
        self._max_event_bytes = max_event_bytes
        self._max_payload_seen = 0
        """The server's ``max_payload`` at the last batch: when it grows, parked streams are released."""
        self.payload_problem: str | None = None
        """Set when the configured maximum event size does not fit the server's ``max_payload``."""
        self.permission_problem: str | None = None
        """Set when the server refused a publish (permissions violation), naming the subject; cleared
        once a batch is published in full (the credentials or the server's users were fixed)."""
        self.lease = Lease(outbox.engine, f"qingdan-outbox-relay:{namespace}:{service}",
                           retry_interval=lease_retry, check_interval=lease_retry)
        self._lease_retry = lease_retry
        self._channel = f"qingdan_outbox_{self.lease.key & 0xFFFFFFFFFFFFFFFF:x}"
        """PostgreSQL channel on which standbys tell the leader that they committed events."""
        self._subjects: dict[tuple[str, str], str] = {}
        """Subject per (department, event type): formatting and checking it per event cost ~1 µs."""
        # A metric's labels(...) is a lock and a dict lookup per call: looked up once, not per batch.
        self._published_counter = EVENTS_PUBLISHED.labels(service)
        self._backlog_gauge = OUTBOX_BACKLOG.labels(service)
        self._oldest_age_gauge = OUTBOX_OLDEST_AGE.labels(service)

    @property
    def leading(self) -> bool:
        """Whether this process's relay holds the lease and publishes (the others stand by)."""
        return self.lease.held

    def wake(self) -> None:
        """Tell the relay that new events were committed (what the writer does through the outbox)."""
        self.outbox.committed()

    async def backlog(self) -> int:
        """How many committed events are waiting to be published."""
        return await self.outbox.backlog()

    async def stop(self) -> None:
        """Stop publishing; delete the rows already acknowledged so that a restart does not resend them."""
        await super().stop()
        try:
            await self.outbox.delete_acknowledged()
        except Exception as exc:  # JetStream drops the duplicates anyway (Nats-Msg-Id) within its window
            log.warning("acknowledged outbox rows not deleted at stop", error=repr(exc))

    async def _run(self) -> None:
        self._nc = await connect_until_ready(self._nats_url, name=f"qingdan-{self._service}-relay",
                                             on_error=self._nats_error)
        self._js = self._nc.jetstream(publish_async_max_pending=4000)
        self._check_max_payload(self._nc.max_payload)
        if self._declare_stream_on_start:  # otherwise the operator step made it (services may not)
            await retry_until_ready(self._declare_stream, what="stream declaration",
                                    retry_on=(*TRANSIENT, nats.js.errors.APIError),
                                    backoff=Backoff(self._election_retry, 2.0), service=self._service)
        self.task.recovered()
        await self._lead()
        backoff = Backoff(0.1, 5.0)
        interrupted: float | None = None  # when publishing last started to fail, for the log
        loop = asyncio.get_running_loop()
        while True:
            if not await self.lease.confirm():
                # Another process may lead now; what we acknowledged is published (the writer still
                # deletes it). Publish again only once the lease is ours again.
                self.outbox.keep_committed = False
                self.outbox.forget_committed()
                await self._lead()
                continue
            try:
                published = await self.publish_pending()
            except Exception as exc:  # keep the outbox, try again
                self.outbox.forget_committed()  # the table says what is left
                cause = exc.cause if isinstance(exc, PartiallyAcknowledged) else exc
                if interrupted is None:
                    interrupted = loop.time()
                    log.warning("publishing interrupted, retrying", error=repr(exc), service=self._service)
                if isinstance(cause, TRANSIENT):  # an election or a reconnect: resume as soon as it ends
                    await asyncio.sleep(self._election_retry)
                else:
                    delay = backoff.next()
                    log.info("publishing failed again", error=repr(exc), retry_in=delay)
                    await asyncio.sleep(delay)  # back-off: the cause (often the database) needs time
                continue
            if interrupted is not None and published:
                log.info("publishing resumed", service=self._service, after_s=round(loop.time() - interrupted, 3))
                interrupted = None
            backoff.reset()
            self.task.recovered()
            if published >= self._batch_size:
                continue  # more are waiting
            if self.outbox.awaiting_deletion:
                # The writer's next batch deletes them; if none comes soon, delete them ourselves.
                if not await self.outbox.wait_for_commit(FORGET_DELAY):
                    await self.outbox.delete_acknowledged()
            else:
                await self.outbox.wait_for_commit(self._poll_interval)

    async def _nats_error(self, exc: Exception) -> None:
        """A publish the server refuses shows only here (the publish itself just waits for an ack
        that never comes): say so at ERROR, naming the subject, and tell ``/health``."""
        refused = PERMISSION_REFUSED.search(str(exc))
        if refused is None:
            return
        subject = refused.group(1)
        problem = (f"NATS refused publishing to {subject}: permissions violation (the service's NATS identity "
                   f"may not publish there; check QD_NATS_URL's user and the server's authorization)")
        if problem != self.permission_problem:  # the relay retries every moment: one ERROR per subject
            log.error("nats refused a publish: permissions violation", service=self._service, subject=subject)
        self.permission_problem = problem

    def _check_max_payload(self, max_payload: int) -> None:
        """Log (and report to ``/health``) a configured maximum event size the server cannot carry.

        The relay still runs: events that fit are published, and one that does not parks its stream.
        """
        if self._max_event_bytes is None or self._max_event_bytes + HEADER_ALLOWANCE <= max_payload:
            self.payload_problem = None
            return
        self.payload_problem = (
            f"QD_MAX_EVENT_BYTES={self._max_event_bytes} does not fit the NATS server's max_payload of "
            f"{max_payload} bytes (with {HEADER_ALLOWANCE} for headers): lower it or raise max_payload")
        log.error("maximum event size does not fit NATS", service=self._service, problem=self.payload_problem)

    async def parked(self) -> list[ParkedStream]:
        """The streams set aside (what ``/health`` names); also sets the ``qingdan_relay_parked_streams`` gauge."""
        parked = await self.outbox.parked()
        RELAY_PARKED_STREAMS.labels(self._service).set(len(parked))
        return parked

    async def _park(self, row: Any, reason: str, max_payload: int) -> None:
        """Set the row's stream aside; every other stream goes on being published."""
        await self.outbox.park(ParkedStream(row.stream_id, row.event_id, row.position, reason, max_payload))
        RELAY_PARKED_STREAMS.labels(self._service).inc()
        log.error("event cannot be published, its stream is parked", service=self._service,
                  stream_id=row.stream_id, event_id=row.event_id, position=row.position, reason=reason)

    async def _release_if_fixed(self, max_payload: int) -> None:
        """Release the streams parked under a smaller ``max_payload`` than the server's now."""
        if max_payload == self._max_payload_seen:
            return
        self._max_payload_seen = max_payload
        self._check_max_payload(max_payload)
        for stream_id in await self.outbox.release(below_max_payload=max_payload):
            log.info("parked stream released: the server's max_payload grew", service=self._service,
                     stream_id=stream_id, max_payload=max_payload)

    async def _lead(self) -> None:
        """Stand by until this process holds the lease, then listen for other processes' commits.

        A standby passes its own process's commits on to the leader (``NOTIFY``), so that their
        events are published at once rather than at the leader's next poll.
        """
        loop = asyncio.get_running_loop()
        tried = -self._lease_retry
        while True:
            if loop.time() - tried >= self._lease_retry:
                tried = loop.time()
                if await self.lease.try_acquire():
                    break
            if await self.outbox.wait_for_commit(self._lease_retry):
                await self.lease.notify(self._channel)
        await self.lease.listen(self._channel, self.outbox.committed)
        self.outbox.keep_committed = True  # the writer's rows are handed to us from now on

    async def _close(self) -> None:
        """Give up the lease with the connections (a stop, or a failed run before its restart)."""
        self.outbox.keep_committed = False
        self.outbox.forget_committed()
        try:
            await self.lease.release()
            await self.outbox.close()
        finally:
            await super()._close()

    async def _declare_stream(self) -> None:
        assert self._js is not None
        await ensure_service_stream(self._js, self._namespace, self._service, replicas=self._replicas)

    async def publish_pending(self) -> int:
        """Publish one batch from the outbox; return how many JetStream acknowledged."""
        assert self._js is not None
        if self.outbox.awaiting_deletion > MAX_ACKNOWLEDGED:  # a long drain with no commands
            await self.outbox.delete_acknowledged()
        if self._nc is not None and self._nc.max_payload != self._max_payload_seen:
            await self._release_if_fixed(self._nc.max_payload)
        rows = await self.outbox.pending(self._batch_size)
        self._backlog_gauge.set(len(rows))
        if not rows:
            self._oldest_age_gauge.set(0)
            return 0
        if self._nc is None or not self._nc.is_connected:
            # While nats-py reconnects, publishing would only fill its buffer and strand publish slots.
            raise ConnectionError("not connected to NATS")
        futures: list[asyncio.Future[Any]] = []
        sent: list[Any] = []  # the rows whose futures these are (a parked stream's are left out)
        parked: set[str] = set()
        max_payload = self._nc.max_payload
        try:
            for row in rows:
                if row.stream_id in parked:  # parked earlier in this batch: keep its order
                    continue
                payload = row.envelope.encode()
                if len(payload) + HEADER_ALLOWANCE > max_payload:
                    parked.add(row.stream_id)
                    await self._park(row, f"event of {len(payload)} bytes exceeds the server's max_payload "
                                          f"of {max_payload} bytes", max_payload)
                    continue
                subject = self._subjects.get((row.department, row.event_type))
                if subject is None:
                    subject = self._subject(row.department, row.event_type)
                try:
                    future = await self._js.publish_async(
                        subject,
                        payload,
                        headers={"Nats-Msg-Id": row.event_id, "Content-Type": "application/cloudevents+json"},
                    )
                except nats.errors.MaxPayloadError as exc:  # permanent for this event: never retried
                    parked.add(row.stream_id)
                    await self._park(row, repr(exc), max_payload)
                    continue
                futures.append(future)
                sent.append(row)
        except Exception:
            for future in futures:  # give their publish slots back; the batch is retried whole
                future.cancel()
            raise
        if futures:  # none when every row of the batch was parked (asyncio.wait([]) raises)
            await self._acknowledgements(futures)
        confirmed, cause = 0, None
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                confirmed += 1
            else:
                cause = future.exception() if future.done() and not future.cancelled() else TimeoutError()
                break
        for future in futures[confirmed:]:
            if future.done() and not future.cancelled():
                future.exception()  # retrieved, so that asyncio does not log it as never retrieved
            future.cancel()
        if confirmed:
            # Exactly the rows published, not "up to the last one": on PostgreSQL another writer's
            # transaction may commit a lower position after we read the outbox, still unpublished.
            self.outbox.acknowledged([row.position for row in sent[:confirmed]])
            self.published += confirmed
            self._published_counter.inc(confirmed)
        if confirmed < len(sent):
            raise PartiallyAcknowledged(confirmed, len(sent), cause)
        if sent:
            self.permission_problem = None  # every publish of the batch went through
        # Parked rows count as handled, so that the loop reads the next batch at once.
        return confirmed + (len(rows) - len(sent))

    def _subject(self, department: str, event_type: str) -> str:
        """The subject of an event of ``event_type`` from ``department``, remembered once it is valid."""
        subject = event_subject(self._namespace, self._service, department, event_type)
        self._subjects[(department, event_type)] = subject
        return subject

    async def _acknowledgements(self, futures: list[asyncio.Future[Any]]) -> None:
        """Wait, at most ``publish_timeout`` seconds, until every publish of the batch is answered.

        JetStream answers one stream's publishes in order, and nats-py resolves them in the order
        they arrive (one subscription, one callback at a time): once the last is answered, the
        others are too. So only the last is waited on; ``asyncio.wait`` over all of them put a
        callback on each (µs per event). Should an earlier one still be open (a publish the server
        refused never gets an answer), the rest of the time goes to waiting for those.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        await _answered(futures[-1], self._publish_timeout)
        open_ = [future for future in futures if not future.done()]
        if open_:
            await asyncio.wait(open_, timeout=max(0.0, deadline - loop.time()))


async def _answered(future: asyncio.Future[Any], timeout: float) -> None:  # noqa: ASYNC109 - the publish timeout
    """Wait until ``future`` is done or ``timeout`` seconds pass, whichever is first; never raises.

    ``asyncio.wait([future], timeout=…)`` without its sets, its checks and a callback per future:
    the relay waits so once per batch, i.e. once per lone command at low rates.
    """
    if future.done():
        return
    waiter = asyncio.get_running_loop().create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = asyncio.get_running_loop().call_later(timeout, wake)
    future.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        future.remove_done_callback(wake)
