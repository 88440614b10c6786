"""Live updates for the dashboards: one hub between the read models and every open page.

The consumers' ``after_commit`` tells the hub which read models (topics) a committed batch changed.
The hub then

1. drops the cached view JSON that depends on those topics (:class:`ViewCache`), so that the next
   request recomputes it once, however many pages ask for it at the same moment (single flight);
   the cache is bounded by size (least recently used out) and emptied when a rebuild swaps a read
   model (:meth:`LiveHub.rebuilt`), since a swap brings no event;
2. tells every open page watching those topics, through server-sent events, at most once per
   ``window`` per topic (:class:`Coalescer`): the first change goes out at once, the rest of a burst
   is folded into one trailing notice at the end of the window.

So N open pages showing the same view cost one query per change (not N), and a burst of a thousand
events costs a handful of notices. A clock (:class:`DayClock`) publishes the ``clock`` topic when the
date changes, because "overdue" and "due within 7 days" change with the calendar, not with events.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from types import FrameType
from typing import Any

import structlog

from shared.envelope import Envelope
from shared.projection import Projection
from shared.supervision import Supervised

log = structlog.get_logger(__name__)

CLOCK = "clock"
"""The topic published when the calendar day changes."""

Clock = Callable[[], float]
Scheduler = Callable[[float, Callable[[], None]], object]
ViewKey = tuple[str, tuple[tuple[str, str], ...]]


class Coalescer:
    """At most one notice per topic per ``window`` seconds: the leading change at once, then one trailing."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: dict[str, float] = {}
        self._pending: set[str] = set()

    def offer(self, topics: Iterable[str], now: float) -> set[str]:
        """The topics to announce now; the others wait for :meth:`due`."""
        emit: set[str] = set()
        for topic in topics:
            last = self._last.get(topic)
            if topic in self._pending:
                continue
            if last is None or now - last >= self.window:
                self._last[topic] = now
                emit.add(topic)
            else:
                self._pending.add(topic)
        return emit

    def next_due(self) -> float | None:
        """When the earliest waiting topic may go out (None if nothing waits)."""
        if not self._pending:
            return None
        return min(self._last[t] + self.window for t in self._pending)

    def due(self, now: float) -> set[str]:
        """The waiting topics whose window has passed; they count as announced at ``now``."""
        ready = {t for t in self._pending if now - self._last[t] >= self.window}
        self._pending -= ready
        for topic in ready:
            self._last[topic] = now
        return ready


@dataclass
class _Entry:
    body: bytes
    topics: frozenset[str]


DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
"""The view cache's bound: the bodies it keeps add up to at most this many bytes."""


@dataclass
class CacheStats:
    """How often the cache answered, computed, dropped and evicted views."""

    hits: int = 0
    computations: int = 0
    invalidations: int = 0
    evictions: int = 0
    clears: int = 0


class ViewCache:
    """Computed view JSON per (view, parameters), dropped when a topic it depends on changes.

    Concurrent requests for the same missing key share one computation. A computation that
    overlaps a change to its topics is returned to its callers but not kept, and requests arriving
    after the change start a fresh one, so a page notified of a change never sees the old figures.

    The cache is bounded by the size of the bodies it keeps (``max_bytes``), least recently used
    first out: every distinct parameter (``?today=``, a filter, a page) is a key of its own, and
    without a bound a crawler or a script walking the days would grow the process without end.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[ViewKey, _Entry] = OrderedDict()
        self._bytes = 0
        self._inflight: dict[ViewKey, tuple[asyncio.Future[bytes], frozenset[str]]] = {}
        self._generation: dict[str, int] = {}
        self._epoch = 0  # bumped by clear(): what was being computed before must not be kept
        self.stats = CacheStats()

    @staticmethod
    def key(view: str, params: dict[str, Any]) -> ViewKey:
        """A hashable key for a view and its parameters (None values left out)."""
        return view, tuple(sorted((k, str(v)) for k, v in params.items() if v is not None))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes of the bodies kept."""
        return self._bytes

    async def get(self, key: ViewKey, topics: frozenset[str], compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached body for ``key``, or the result of one shared ``compute()``."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry.body
        running = self._inflight.get(key)
        if running is not None:
            self.stats.hits += 1
            return await asyncio.shield(running[0])
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = (future, topics)
        before = {t: self._generation.get(t, 0) for t in topics}
        epoch = self._epoch
        self.stats.computations += 1
        try:
            body = await compute()
        except BaseException as exc:
            self._forget_inflight(key, future)
            future.set_exception(exc)
            future.exception()  # marked retrieved: waiters receive it through their own await
            raise
        self._forget_inflight(key, future)
        if epoch == self._epoch and all(self._generation.get(t, 0) == g for t, g in before.items()):
            self._keep(key, _Entry(body, topics))
        future.set_result(body)
        return body

    def _keep(self, key: ViewKey, entry: _Entry) -> None:
        if len(entry.body) > self.max_bytes:
            return  # larger than the whole cache: served, not kept
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.stats.evictions += 1

    def _drop(self, key: ViewKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def _forget_inflight(self, key: ViewKey, future: asyncio.Future[bytes]) -> None:
        running = self._inflight.get(key)
        if running is not None and running[0] is future:
            del self._inflight[key]

    def invalidate(self, topics: Iterable[str]) -> int:
        """Forget every view depending on ``topics``; the number of views dropped."""
        changed = set(topics)
        if not changed:
            return 0
        for topic in changed:
            self._generation[topic] = self._generation.get(topic, 0) + 1
        stale = [k for k, e in self._entries.items() if e.topics & changed]
        for key in stale:
            self._drop(key)
        # a computation under way read the old data: requests from now on must not join it
        for key in [k for k, (_, t) in self._inflight.items() if t & changed]:
            del self._inflight[key]
        self.stats.invalidations += len(stale)
        return len(stale)

    def clear(self) -> int:
        """Forget every view, and every computation under way (a read model was swapped by a rebuild)."""
        dropped = len(self._entries)
        self._entries.clear()
        self._bytes = 0
        self._inflight.clear()
        self._epoch += 1
        self.stats.clears += 1
        self.stats.invalidations += dropped
        return dropped


class Subscriber:
    """One open page: the topics it watches and the changes not yet sent to it."""

    def __init__(self, topics: frozenset[str] | None) -> None:
        self.topics = topics
        self.pending: set[str] = set()
        self.closed = False
        self._wake = asyncio.Event()

    def push(self, topics: set[str]) -> None:
        """Queue the changed topics this page watches."""
        relevant = topics if self.topics is None else topics & self.topics
        if relevant:
            self.pending |= relevant
            self._wake.set()

    def close(self) -> None:
        """End this page's stream (the service is stopping)."""
        self.closed = True
        self._wake.set()

    async def next(self, timeout: float) -> set[str]:  # noqa: ASYNC109 - a heartbeat interval, not a deadline
        """The topics changed since the last call; empty after ``timeout`` seconds of quiet or on close."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()
        topics, self.pending = self.pending, set()
        return topics


@dataclass
class DayClock:
    """Publishes :data:`CLOCK` when the calendar day changes (checked every ``every`` seconds)."""

    today: Callable[[], date] = date.today
    every: float = 60.0
    current: date | None = None

    def check(self) -> bool:
        """Whether the day changed since the last check (the first check only records it)."""
        day = self.today()
        changed = self.current is not None and day != self.current
        self.current = day
        return changed

    def seconds_to_next_tick(self, now: datetime | None = None) -> float:
        """Wait until just after the next whole ``every`` seconds of the wall clock."""
        stamp = (now or datetime.now()).timestamp()
        return self.every - (stamp % self.every) + 0.05


TopicsOf = Callable[[Envelope], Iterable[str]]


def topics_by_event_type(projections: Iterable[Projection]) -> TopicsOf:
    """Each event's topics: the names of the read models that read its type.

    A batch committed by one consumer also names the other read models of the same event type,
    which may not have applied it yet; they commit moments later and announce again, so a page may
    fetch twice for one change (the coalescing window folds most of that) but never misses one.
    """
    by_type: dict[str, set[str]] = {}
    for projection in projections:
        for event_type in projection.event_types:
            by_type.setdefault(event_type, set()).add(projection.name)

    def topics_of(envelope: Envelope) -> Iterable[str]:
        return by_type.get(envelope.type, ())
    return topics_of


class LiveHub:
    """Fans read-model changes out to every watching page, coalesced, and keeps the view cache fresh."""

    def __init__(
        self,
        topics_of: TopicsOf,
        *,
        window: float = 0.25,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        clock: Clock = time.monotonic,
        schedule: Scheduler | None = None,
        day_clock: DayClock | None = None,
    ) -> None:
        self.cache = ViewCache(cache_bytes)
        self.notices = 0
        self._topics_of = topics_of
        self._coalescer = Coalescer(window)
        self._clock = clock
        self._schedule = schedule
        self._timer_due: float | None = None
        self._subscribers: set[Subscriber] = set()
        self.day_clock = day_clock or DayClock()
        self.ticker = Supervised("live-day-clock", self._tick)
        """The day clock's task: supervised, so a failure is logged, restarted and shown in /health."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closing = False
        self.listeners: list[Callable[[set[str]], None]] = []
        """Called with the changed topics, uncoalesced (the reminder scheduler listens here)."""

    # --- changes in -------------------------------------------------------------------------

    def committed(self, envelopes: list[Envelope]) -> None:
        """The consumers' ``after_commit``: these envelopes are now in the read models."""
        topics: set[str] = set()
        for envelope in envelopes:
            topics.update(self._topics_of(envelope))
        self.changed(topics)

    def changed(self, topics: Iterable[str]) -> None:
        """Read models named by ``topics`` changed: drop their cached views, tell the pages (coalesced)."""
        topics = set(topics)
        if not topics:
            return
        self.cache.invalidate(topics)
        self._broadcast(self._coalescer.offer(topics, self._clock()))
        self._arm_timer()
        for listener in self.listeners:
            listener(topics)

    def rebuilt(self, read_model: str) -> None:
        """A rebuild swapped ``read_model``'s tables: drop every cached view and tell the pages.

        A swap brings no event, so without this the cache would serve the old figures until the
        next event arrived, however long the quiet lasted. Views built on other read models are
        dropped too: a rebuild is rare, and a view may join several models.
        """
        dropped = self.cache.clear()
        log.info("read model rebuilt: view cache cleared", read_model=read_model, views_dropped=dropped)
        self._broadcast(self._coalescer.offer({read_model}, self._clock()))
        self._arm_timer()

    def flush(self) -> None:
        """Send the trailing notices whose window has passed (the timer calls this)."""
        self._timer_due = None
        self._broadcast(self._coalescer.due(self._clock()))
        self._arm_timer()

    def _arm_timer(self) -> None:
        due = self._coalescer.next_due()
        if due is None or (self._timer_due is not None and self._timer_due <= due):
            return
        self._timer_due = due
        delay = max(0.0, due - self._clock())
        if self._schedule is not None:
            self._schedule(delay, self.flush)
        else:
            asyncio.get_running_loop().call_later(delay, self.flush)

    def _broadcast(self, topics: set[str]) -> None:
        if not topics:
            return
        self.notices += 1
        for subscriber in self._subscribers:
            subscriber.push(topics)

    # --- pages out --------------------------------------------------------------------------

    def subscribe(self, topics: frozenset[str] | None = None) -> Subscriber:
        """A new watcher of ``topics`` (all topics if None)."""
        subscriber = Subscriber(topics)
        if self.closing:
            subscriber.close()
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a watcher (its page went away)."""
        self._subscribers.discard(subscriber)

    @property
    def watchers(self) -> int:
        """How many pages are watching."""
        return len(self._subscribers)

    def close_streams(self) -> None:
        """End every page's stream, so that the server can stop (pages reconnect to the next one)."""
        self.closing = True
        for subscriber in self._subscribers:
            subscriber.close()

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the day clock; end the streams as soon as the process is asked to stop."""
        self._loop = asyncio.get_running_loop()
        self.day_clock.check()
        self.ticker.start()
        self._chain_stop_signals()

    async def stop(self) -> None:
        """Stop the clock and end every stream."""
        self.close_streams()
        await self.ticker.stop()

    async def _tick(self) -> None:
        while True:
            self.ticker.recovered()
            await asyncio.sleep(self.day_clock.seconds_to_next_tick())  # the wall clock is the event here
            if self.day_clock.check():
                log.info("day changed: overdue views recompute", day=str(self.day_clock.current))
                self.changed({CLOCK})

    def _chain_stop_signals(self) -> None:
        # The server waits for open responses before it stops, and an event stream never ends by
        # itself: on SIGINT/SIGTERM end the streams first, then let the server's own handler run.
        loop = self._loop
        assert loop is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.close_streams)
                previous(signum, frame)
            with contextlib.suppress(ValueError):  # not the main thread (tests): nothing to chain
                signal.signal(sig, handler)
