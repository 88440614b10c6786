"""The relay's lease on the run's database: exclusive on PostgreSQL, taken over when its holder's connection dies."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared.db import create_engine
from shared.leadership import Lease, lock_key
from shared.testing.servers import wait_until

pytestmark = pytest.mark.integration


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("qingdan-outbox-relay:qd:registry") == lock_key("qingdan-outbox-relay:qd:registry")
    assert lock_key("qingdan-outbox-relay:qd:registry") != lock_key("qingdan-outbox-relay:qd:checklists")


async def test_one_holder_at_a_time_and_a_standby_takes_over_when_the_holder_dies(
    database_url: str, db_backend: str
) -> None:
    # Two engines: two processes' connection pools.
    first_engine, second_engine = create_engine(database_url), create_engine(database_url)
    first = Lease(first_engine, "test-lease", retry_interval=0.05, check_interval=0.0)
    second = Lease(second_engine, "test-lease", retry_interval=0.05, check_interval=0.0)
    try:
        assert await first.try_acquire()
        if db_backend == "sqlite":  # one process by design: nothing to exclude
            assert await second.try_acquire()
            return
        assert not await second.try_acquire()
        assert await first.confirm() and not second.held

        # The holder's process dies: PostgreSQL ends its session and drops the lock with it.
        assert first._conn is not None
        backend = (await first._conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await first._conn.commit()
        async with second_engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        await second.acquire()
        assert second.held
        assert not await first.confirm(), "a lease whose connection died must not be trusted"
        assert not await first.try_acquire()

        await second.release()  # a clean stop hands it over at once
        assert await first.try_acquire()
    finally:
        await first.release()
        await second.release()
        await first_engine.dispose()
        await second_engine.dispose()


async def test_a_standby_wakes_the_holder_through_notify(database_url: str, db_backend: str) -> None:
    holder_engine, standby_engine = create_engine(database_url), create_engine(database_url)
    holder, standby = Lease(holder_engine, "test-notify"), Lease(standby_engine, "test-notify")
    woken: list[int] = []
    try:
        assert await holder.try_acquire()
        await holder.listen("qingdan_test_channel", lambda: woken.append(1))
        await standby.notify("qingdan_test_channel")
        await standby.notify("qingdan_test_channel")
        if db_backend == "sqlite":  # one process: its relay is woken in memory; NOTIFY is a no-op
            assert woken == []
            return
        await wait_until(lambda: len(woken) == 2, timeout=5, message="the holder to receive both notifications")
    finally:
        await holder.release()
        await standby.release()  # closes the connection it notifies on
        await holder_engine.dispose()
        await standby_engine.dispose()
