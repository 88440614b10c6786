"""The writer deletes acknowledged outbox rows once a few have gathered, not in every batch."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from shared.db import create_engine, write_lock, writer
from shared.eventstore import outbox as outbox_module
from shared.eventstore.outbox import CLEAR_EVERY, Outbox
from shared.eventstore.tables import metadata, outbox

pytestmark = pytest.mark.integration


async def test_acknowledged_rows_are_deleted_once_enough_gathered_or_waited_or_asked(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    box = Outbox(engine)

    async def clear(*, now: bool = False) -> list[int]:
        async with write_lock(engine), writer(engine).begin() as conn:
            positions = await box.clear_acknowledged(conn, now=now)
        box.cleared(positions)
        return positions

    async def rows() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(outbox), [{"position": p} for p in range(1, CLEAR_EVERY + 3)])
        assert await clear() == []  # nothing acknowledged
        box.acknowledged([1])
        assert await clear() == [] and await rows() == CLEAR_EVERY + 2  # one lone row waits for company
        box.acknowledged(list(range(2, CLEAR_EVERY + 1)))
        assert await clear() == list(range(1, CLEAR_EVERY + 1))  # enough gathered: deleted in this batch
        assert await rows() == 2 and box.awaiting_deletion == 0
        box.acknowledged([CLEAR_EVERY + 1])
        assert await clear(now=True) == [CLEAR_EVERY + 1]  # the relay's own clearing takes whatever there is
        box.acknowledged([CLEAR_EVERY + 2])
        monkeypatch.setattr(outbox_module, "CLEAR_AFTER", 0.0)  # the oldest has waited long enough
        assert await clear() == [CLEAR_EVERY + 2]
        assert await rows() == 0
    finally:
        await engine.dispose()
