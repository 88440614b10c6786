"""The relay's wake-up: a commit announced before or during the wait ends it at once, none is lost."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from shared.eventstore.outbox import Outbox


async def test_a_commit_wakes_the_waiting_relay_and_silence_times_out() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")  # never connected: the wake-up needs no database
    box = Outbox(engine)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        assert await box.wait_for_commit(0.05) is False  # nothing committed: the timer ends the wait
        assert loop.time() - started >= 0.04

        box.committed()  # announced while nobody waits: the next wait returns at once
        started = loop.time()
        assert await box.wait_for_commit(5.0) is True
        assert loop.time() - started < 1.0
        assert await box.wait_for_commit(0.01) is False  # and only once

        waiting = asyncio.ensure_future(box.wait_for_commit(5.0))
        await asyncio.sleep(0)  # let it start waiting
        assert not waiting.done()
        started = loop.time()
        box.committed()
        assert await asyncio.wait_for(waiting, 1.0) is True
        assert loop.time() - started < 1.0

        waiting = asyncio.ensure_future(box.wait_for_commit(5.0))
        await asyncio.sleep(0)
        waiting.cancel()  # the relay stopped meanwhile: the next wait is not confused by it
        await asyncio.gather(waiting, return_exceptions=True)
        assert await box.wait_for_commit(0.01) is False
    finally:
        await engine.dispose()
