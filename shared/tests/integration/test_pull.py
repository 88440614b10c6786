"""The quick ``next_msg`` of a pull subscription: a batch's messages in order, the wait as before."""

from __future__ import annotations

import pytest

from shared.messaging.pull import quicken
from shared.testing.contracts import support as s

pytestmark = pytest.mark.integration


async def test_a_quickened_fetch_returns_every_message_in_order_and_times_out_when_idle(
    nats_url: str, run_id: str
) -> None:
    namespace = s.unique_namespace(run_id)
    stream, subject = f"{namespace}-pull", f"{namespace}.pull.x"
    async with s.jetstream(nats_url) as probe:
        await probe.js.add_stream(name=stream, subjects=[subject])
        sub = await probe.js.pull_subscribe(subject, durable="quick", stream=stream)
        assert quicken(sub)
        for number in range(1, 8):
            await probe.js.publish(subject, str(number).encode())
        fetched = [m.data for m in await sub.fetch(5, timeout=2)]
        fetched += [m.data for m in await sub.fetch(5, timeout=2)]  # 2 left: a short batch, at once
        assert fetched == [str(n).encode() for n in range(1, 8)]
        assert sub.pending_msgs == 0 and sub.pending_bytes == 0
        await probe.js.publish(subject, b"8")
        assert [m.data for m in await sub.fetch(5, timeout=2)] == [b"8"]
        # Nothing left: nats-py's own wait, and its timeout. (Last: a pull request that outlives a
        # timed-out fetch may take the next message, a race of nats-py's, not of this module's.)
        # nats-py raises its own TimeoutError or asyncio's (a deadline spent before its second
        # request): the consumer catches the builtin TimeoutError, the base of both.
        with pytest.raises(TimeoutError):
            await sub.fetch(5, timeout=0.2)
