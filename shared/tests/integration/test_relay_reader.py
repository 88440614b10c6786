"""The relay reads the outbox on a connection of its own, in autocommit: no transaction is left open
between reads, and a connection that dies is replaced at the next read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from shared.db import create_engine
from shared.testing.contracts import support as s
from shared.testing.servers import wait_until

from .test_health import build, commit, running

pytestmark = pytest.mark.integration


async def test_the_relay_holds_no_transaction_between_reads_and_replaces_a_dead_connection(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path, db_backend: str
) -> None:
    runtime = build(database_url, nats_url, s.unique_namespace(run_id), tmp_path)
    relay = runtime.relay
    assert relay is not None
    async with running(runtime):
        await commit(runtime, 1)
        await wait_until(lambda: relay.published == 1, message="the first event published")
        reader = relay.outbox._reader
        assert reader is not None, "the relay reads through a connection of its own"
        if db_backend == "sqlite":
            driver = (await reader.get_raw_connection()).driver_connection
            assert driver is not None and not driver.in_transaction
            return
        backend = (await reader.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin_engine = create_engine(database_url)
        try:
            async with admin_engine.connect() as admin:
                state = (await admin.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"),
                                             {"pid": backend})).scalar_one()
                assert state == "idle"  # not "idle in transaction": nothing held between reads
                # The connection dies (a PostgreSQL restart, a proxy timeout): the next read fails,
                # the relay retries on a new connection.
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                await admin.commit()
        finally:
            await admin_engine.dispose()
        await commit(runtime, 2)
        await wait_until(lambda: relay.published == 2, timeout=15, message="the next event published")
        assert relay.outbox._reader is not None and relay.outbox._reader is not reader
