"""Reading a whole stream fast: an ordered consumer (docs/measurements.md: ~78k msg/s, vs ~20k by fetch)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy


async def stream_last_sequence(nc: Client, stream: str) -> int:
    """The sequence of the newest message in a stream (0 if empty)."""
    info = await nc.jetstream().stream_info(stream)
    return int(info.state.last_seq)


async def replay(
    nc: Client,
    stream: str,
    subjects: str,
    *,
    start: int,
    end: int,
    on_message: Callable[[Msg], None],
    idle_timeout: float = 10.0,
) -> int:
    """Call ``on_message`` for every message of ``stream`` with sequence in [start, end]; return the count."""
    if end < start:
        return 0
    done = asyncio.get_running_loop().create_future()
    count = 0
    progress = asyncio.Event()

    async def handle(msg: Msg) -> None:
        nonlocal count
        sequence = msg.metadata.sequence.stream
        if sequence > end:
            if not done.done():
                done.set_result(None)
            return
        try:
            on_message(msg)
        except Exception as exc:  # surface it to the caller instead of nats-py's error callback
            if not done.done():
                done.set_exception(exc)
            return
        count += 1
        progress.set()
        if sequence >= end and not done.done():
            done.set_result(None)

    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
    sub = await nc.jetstream().subscribe(
        subjects, stream=stream, ordered_consumer=True, cb=handle, config=config,
    )
    try:
        while not done.done():
            progress.clear()
            waiter = asyncio.ensure_future(progress.wait())
            finished, _ = await asyncio.wait({waiter, done}, timeout=idle_timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if not finished:
                raise TimeoutError(f"replay of {stream} stalled at {count} messages before sequence {end}")
    finally:
        await sub.unsubscribe()
    done.result()
    return count
