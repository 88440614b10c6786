"""``claim_applied``: recording event ids as applied answers which of them were new, each once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.db import create_engine
from shared.eventstore.applied import already_applied, claim_applied
from shared.eventstore.tables import applied_events, metadata

pytestmark = pytest.mark.integration


async def test_a_claim_answers_the_ids_not_recorded_before_and_records_them(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with engine.begin() as conn:
            assert await claim_applied(conn, "a", []) == set()
            assert await claim_applied(conn, "a", ["e1", "e2", "e2", "e3"]) == {"e1", "e2", "e3"}
        many = [f"m{i}" for i in range(2500)]  # more than one statement's thousand
        async with engine.begin() as conn:
            assert await claim_applied(conn, "a", ["e3", "e4", *many]) == {"e4", *many}
            assert await claim_applied(conn, "b", ["e3"]) == {"e3"}  # per consumer
            assert await claim_applied(conn, "a", ["e1", "m2499"]) == set()
        async with engine.begin() as conn:
            total = (await conn.execute(select(func.count()).select_from(applied_events))).scalar_one()
            assert total == 4 + 2500 + 1
            assert await already_applied(conn, ["a"], ["e1", "e4", "zz"]) == {("a", "e1"), ("a", "e4")}
    finally:
        await engine.dispose()
