"""Batches the relay publishes without a server: one whose every row is parked, and acknowledgements
that come back out of order or not at all (only the answered prefix counts as published)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from shared.eventstore.outbox import Outbox, ParkedStream, PendingEvent
from shared.messaging.relay import OutboxRelay, PartiallyAcknowledged


class FakeOutbox(Outbox):
    """The rows to publish, and what the relay reports back, in memory."""

    def __init__(self, rows: list[PendingEvent]) -> None:
        super().__init__(create_async_engine("sqlite+aiosqlite://"))  # never connected
        self.rows = rows
        self.parked_rows: list[ParkedStream] = []
        self.acknowledged_positions: list[int] = []

    async def pending(self, limit: int) -> Sequence[PendingEvent]:
        return self.rows[:limit]

    async def park(self, parked: ParkedStream) -> None:
        self.parked_rows.append(parked)

    async def release(self, stream_id: str | None = None, *, below_max_payload: int | None = None) -> list[str]:
        return []

    def acknowledged(self, positions: Sequence[int]) -> None:
        self.acknowledged_positions.extend(positions)


class FakeNats:
    is_connected = True
    max_payload = 2048


class FakeJetStream:
    """Hands out a future per publish; the test answers them."""

    def __init__(self, expected: int) -> None:
        self.futures: list[asyncio.Future[Any]] = []
        self.all_sent = asyncio.Event()
        self._expected = expected

    async def publish_async(self, subject: str, payload: bytes, headers: dict[str, str]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        if len(self.futures) == self._expected:
            self.all_sent.set()
        return future


def event(position: int, stream: str, size: int = 10) -> PendingEvent:
    return PendingEvent(position, f"e-{position}", "unit.created", "dep", "x" * size, stream)


def relay_for(rows: list[PendingEvent], timeout: float = 5.0) -> tuple[OutboxRelay, FakeOutbox, FakeJetStream]:
    box = FakeOutbox(rows)
    relay = OutboxRelay(box, nats_url="nats://unused", namespace="t", service="svc", publish_timeout=timeout)
    js = FakeJetStream(len(rows))
    relay._nc = FakeNats()  # type: ignore[assignment]
    relay._js = js  # type: ignore[assignment]
    relay._max_payload_seen = FakeNats.max_payload
    return relay, box, js


async def test_a_batch_whose_every_row_is_parked_counts_them_handled() -> None:
    relay, box, js = relay_for([event(1, "big", 4000), event(2, "big")])
    assert await relay.publish_pending() == 2  # handled (parked), no error: the loop reads on
    assert [p.stream_id for p in box.parked_rows] == ["big"] and js.futures == []
    assert box.acknowledged_positions == []


async def test_only_the_answered_prefix_is_published_whatever_order_the_answers_come_in() -> None:
    relay, box, js = relay_for([event(1, "a"), event(2, "b"), event(3, "c")], timeout=0.2)
    publishing = asyncio.ensure_future(relay.publish_pending())
    await asyncio.wait_for(js.all_sent.wait(), 5)
    js.futures[2].set_result("ack 3")  # the last answered first; the second never is
    js.futures[0].set_result("ack 1")
    with pytest.raises(PartiallyAcknowledged, match="acknowledged 1 of 3"):
        await publishing
    assert box.acknowledged_positions == [1]  # 2 and 3 stay in the outbox, to be published again
    assert js.futures[1].cancelled()

    relay, box, js = relay_for([event(1, "a"), event(2, "b")])
    publishing = asyncio.ensure_future(relay.publish_pending())
    await asyncio.wait_for(js.all_sent.wait(), 5)
    js.futures[1].set_result("ack 2")  # out of order: the earlier one is still waited for
    finished, _ = await asyncio.wait([publishing], timeout=0.05)
    assert not finished
    js.futures[0].set_result("ack 1")
    assert await publishing == 2
    assert box.acknowledged_positions == [1, 2]
