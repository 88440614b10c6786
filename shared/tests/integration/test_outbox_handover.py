"""The writer hands the relay what each batch committed; the relay reads the table when unsure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from shared.db import create_engine
from shared.eventstore import outbox as outbox_module
from shared.eventstore.outbox import Outbox, PendingEvent
from shared.eventstore.tables import events, metadata, outbox

pytestmark = pytest.mark.integration


async def test_the_relay_publishes_handed_rows_and_reads_the_table_whenever_it_cannot_be_sure(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    box = Outbox(engine)
    box.keep_committed = True  # as the leading relay sets it

    async def commit(position: int) -> PendingEvent:
        """An event and its outbox row committed, as a batch writes them."""
        row = PendingEvent(position, f"e-{position}", "thing.happened", "federation", "{}", f"s-{position}")
        async with engine.begin() as conn:
            await conn.execute(insert(events).values(
                position=position, event_id=row.event_id, stream_id=row.stream_id, stream_type="thing",
                version=1, event_type=row.event_type, schema_version=1, department=row.department,
                occurred_at=datetime.now(UTC), envelope=row.envelope, hash="h"))
            await conn.execute(insert(outbox).values(position=position))
        return row

    async def positions() -> list[int]:
        return [row.position for row in await box.pending(100)]

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        first = await commit(1)  # before the relay's first read: it reads the table
        assert await positions() == [1]
        box.acknowledged([1])
        box.committed([await commit(2), await commit(3)])  # the writer's batch, handed over
        unannounced = await commit(4)  # written without a word (a command-line process)
        assert await positions() == [2, 3]  # what was handed, without a read
        box.acknowledged([2])
        assert await positions() == [3]
        box.committed()  # a commit announced without its rows (another process's NOTIFY): the table
        assert await positions() == [3, 4]
        box.acknowledged([3, 4])
        assert await positions() == []
        box.committed([await commit(5)])
        box.forget_committed()  # a failed publish: the table says what is left
        assert await positions() == [5]
        box.acknowledged([5])
        monkeypatch.setattr(outbox_module, "PARKED_REFRESH", 0.0)  # time to read the table again
        await commit(6)
        assert await positions() == [6]  # found by the periodic read, though nobody handed it over
        box.acknowledged([6])
        box.keep_committed = False  # a standby keeps nothing: the rows stay the table's
        box.committed([await commit(7)])
        assert await positions() == [7]
        assert first.event_id == "e-1" and unannounced.position == 4
    finally:
        await box.close()
        await engine.dispose()
