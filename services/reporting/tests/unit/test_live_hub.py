"""The live hub: coalescing of notices, the view cache and its invalidation, the day clock.

Time is driven explicitly (a fake clock and a fake scheduler); nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from services.reporting.live import CLOCK, Coalescer, DayClock, LiveHub, ViewCache, topics_by_event_type
from shared.catalogue.people import HomeVisitRecorded, PersonRegistered
from shared.catalogue.worklists import TaskIssued
from shared.envelope import Envelope
from shared.projection import Projection
from shared.testing.envelopes import envelope_of_type

pytestmark = pytest.mark.unit


class FakeTime:
    """A clock that moves only when told, and a scheduler that records what it was asked to run."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> object:
        self.timers.append((self.now + delay, callback))
        return object()

    def advance(self, seconds: float) -> None:
        """Move time on, running every timer that falls due, in order."""
        self.now += seconds
        while True:
            due = sorted((t for t in self.timers if t[0] <= self.now), key=lambda t: t[0])
            if not due:
                return
            self.timers.remove(due[0])
            due[0][1]()


def _hub(time: FakeTime, window: float = 0.25) -> LiveHub:
    return LiveHub(lambda e: [e.type], window=window, clock=time.clock, schedule=time.schedule)


def test_the_first_change_goes_out_at_once_and_a_burst_becomes_one_trailing_notice() -> None:
    c = Coalescer(0.25)
    assert c.offer({"coverage"}, 0.0) == {"coverage"}
    assert c.offer({"coverage"}, 0.05) == set()
    assert c.offer({"coverage", "ledger"}, 0.10) == {"ledger"}
    assert c.next_due() == pytest.approx(0.25)
    assert c.due(0.20) == set()
    assert c.due(0.25) == {"coverage"}
    assert c.next_due() is None
    assert c.offer({"coverage"}, 0.30) == set()  # within the window of the trailing notice
    assert c.due(0.50) == {"coverage"}
    assert c.offer({"coverage"}, 0.90) == {"coverage"}  # quiet long enough: at once again


async def test_a_thousand_changes_in_a_burst_reach_each_page_as_two_notices() -> None:
    time = FakeTime()
    hub = _hub(time)
    pages = [hub.subscribe(frozenset({"coverage"})) for _ in range(50)]
    other = hub.subscribe(frozenset({"ledger"}))
    received: list[list[set[str]]] = [[] for _ in pages]

    def drain() -> None:
        for i, page in enumerate(pages):
            if page.pending:
                received[i].append(page.pending)
                page.pending = set()

    for _ in range(1000):
        hub.changed({"coverage"})
        drain()
        time.advance(0.0001)
    assert all(r == [{"coverage"}] for r in received)  # the leading notice only, so far
    time.advance(0.25)
    drain()
    assert all(r == [{"coverage"}, {"coverage"}] for r in received)
    assert hub.notices == 2
    assert not other.pending  # watches another topic


async def test_subscriber_wakes_with_the_changed_topics_and_on_close() -> None:
    time = FakeTime()
    hub = _hub(time)
    page = hub.subscribe(None)
    waiting = asyncio.ensure_future(page.next(timeout=60))
    await asyncio.sleep(0)
    hub.changed({"tasks", CLOCK})
    assert await waiting == {"tasks", CLOCK}
    waiting = asyncio.ensure_future(page.next(timeout=60))
    await asyncio.sleep(0)
    hub.close_streams()
    assert await waiting == set() and page.closed
    hub.unsubscribe(page)
    assert hub.watchers == 0


async def test_many_requests_for_one_view_cost_one_computation_until_its_topic_changes() -> None:
    cache = ViewCache()
    calls = 0
    release = asyncio.Event()

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        return f'{{"n": {calls}}}'.encode()

    key = cache.key("coverage", {"year": 2026, "unit": None})
    waiting = [asyncio.ensure_future(cache.get(key, frozenset({"coverage"}), compute)) for _ in range(20)]
    await asyncio.sleep(0)
    release.set()
    assert {await w for w in waiting} == {b'{"n": 1}'}
    assert await cache.get(key, frozenset({"coverage"}), compute) == b'{"n": 1}'
    assert calls == 1 and cache.stats.computations == 1 and cache.stats.hits == 20

    assert cache.invalidate({"ledger"}) == 0  # another read model: still cached
    assert await cache.get(key, frozenset({"coverage"}), compute) == b'{"n": 1}'
    assert cache.invalidate({"coverage"}) == 1
    assert await cache.get(key, frozenset({"coverage"}), compute) == b'{"n": 2}'
    assert calls == 2


async def test_a_change_during_a_computation_is_not_hidden_by_its_stale_result() -> None:
    cache = ViewCache()
    started, release = asyncio.Event(), asyncio.Event()
    results = iter([b"old", b"new"])

    async def compute() -> bytes:
        result = next(results)  # what the database holds when the query starts
        started.set()
        await release.wait()
        return result

    key = cache.key("worklist", {})
    topics = frozenset({"tasks", CLOCK})
    first = asyncio.ensure_future(cache.get(key, topics, compute))
    await started.wait()
    cache.invalidate({CLOCK})  # the day changed while the query ran
    second = asyncio.ensure_future(cache.get(key, topics, compute))  # must not join the stale computation
    await asyncio.sleep(0)
    release.set()
    assert await first == b"old"
    assert await second == b"new"
    assert await cache.get(key, topics, compute) == b"new"  # and the stale result was not kept


async def test_a_failing_computation_reaches_every_waiter_and_is_not_cached() -> None:
    cache = ViewCache()
    release = asyncio.Event()

    async def broken() -> bytes:
        await release.wait()
        raise RuntimeError("database gone")

    key = cache.key("coverage", {})
    waiting = [asyncio.ensure_future(cache.get(key, frozenset({"coverage"}), broken)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    for w in waiting:
        with pytest.raises(RuntimeError):
            await w
    assert len(cache) == 0


async def test_committed_events_invalidate_the_views_of_the_read_models_that_read_them() -> None:
    time = FakeTime()
    coverage = Projection("coverage", "registry", (), (PersonRegistered, HomeVisitRecorded), lambda e, p: [])
    tasks = Projection("tasks", "checklists", (), (TaskIssued,), lambda e, p: [])
    hub = LiveHub(topics_by_event_type([coverage, tasks]), clock=time.clock, schedule=time.schedule)
    page = hub.subscribe(None)
    await hub.cache.get(hub.cache.key("coverage", {}), frozenset({"coverage"}), lambda: _body("coverage"))
    await hub.cache.get(hub.cache.key("tasks", {}), frozenset({"tasks"}), lambda: _body("tasks"))
    hub.committed([_envelope("visit.recorded"), _envelope("person.registered")])
    assert page.pending == {"coverage"}
    assert len(hub.cache) == 1  # the tasks view is still cached


async def _body(text: str) -> bytes:
    return text.encode()


def _envelope(event_type: str) -> Envelope:
    return envelope_of_type(event_type, stream_id="p1", time=datetime.now(UTC))


def test_the_day_clock_announces_a_new_day_only_when_the_date_changes() -> None:
    days = iter([date(2026, 3, 31), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 1)])
    clock = DayClock(today=lambda: next(days))
    assert clock.check() is False  # the first check only records the day
    assert clock.check() is False
    assert clock.check() is True
    assert clock.check() is False
    assert clock.seconds_to_next_tick(datetime(2026, 4, 1, 8, 30, 15)) == pytest.approx(45.05)


async def test_a_new_day_makes_overdue_views_recompute_and_pages_refetch() -> None:
    time = FakeTime()
    hub = _hub(time)
    page = hub.subscribe(frozenset({CLOCK, "tasks"}))
    await hub.cache.get(hub.cache.key("worklist", {"today": "2026-03-31"}), frozenset({"tasks", CLOCK}),
                        lambda: _body("x"))
    hub.changed({CLOCK})
    assert page.pending == {CLOCK} and len(hub.cache) == 0


async def test_the_cache_keeps_at_most_its_size_in_bodies_least_recently_used_out() -> None:
    cache = ViewCache(max_bytes=1000)
    body = b"x" * 100

    async def compute() -> bytes:
        return body

    topics = frozenset({"tasks", CLOCK})
    first = cache.key("worklist", {"today": "2026-01-01"})
    await cache.get(first, topics, compute)
    for day in range(2, 1501):  # a script walking ?today= through the years
        await cache.get(cache.key("worklist", {"today": f"day-{day}"}), topics, compute)
        await cache.get(first, topics, compute)  # one page keeps asking for the first day
        assert cache.size <= 1000
    assert len(cache) == 10 and cache.size == 1000
    assert cache.stats.evictions == 1500 - 10
    computed = cache.stats.computations
    await cache.get(first, topics, compute)  # used most recently, so never evicted
    assert cache.stats.computations == computed
    await cache.get(cache.key("worklist", {"today": "day-2"}), topics, compute)  # long evicted
    assert cache.stats.computations == computed + 1

    huge = cache.key("ledger", {})
    assert await cache.get(huge, topics, lambda: _body("y" * 1001)) == b"y" * 1001  # served, not kept
    assert cache.size <= 1000 and cache.stats.evictions == 1500 - 10 + 1  # day-2 pushed one out; huge none


async def test_a_rebuild_empties_the_cache_and_tells_the_pages() -> None:
    time = FakeTime()
    hub = _hub(time)
    page = hub.subscribe(frozenset({"coverage"}))
    started, release = asyncio.Event(), asyncio.Event()
    results = iter([b"before the swap", b"after the swap"])

    async def compute() -> bytes:
        result = next(results)
        started.set()
        await release.wait()
        return result

    key = hub.cache.key("coverage", {"year": 2026})
    running = asyncio.ensure_future(hub.cache.get(key, frozenset({"coverage"}), compute))
    await started.wait()
    hub.rebuilt("coverage")  # no event arrives with a swap
    release.set()
    assert await running == b"before the swap"  # it read the old tables: returned, not kept
    assert len(hub.cache) == 0 and hub.cache.stats.clears == 1
    assert await page.next(0) == {"coverage"}
    assert await hub.cache.get(key, frozenset({"coverage"}), compute) == b"after the swap"
