"""Pooled PostgreSQL connections are pinged after a rest, not at every checkout; a dead one is replaced unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shared import db
from shared.db import create_engine

pytestmark = pytest.mark.integration


async def test_a_rested_connection_that_died_is_replaced_before_use(
    database_url: str, db_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db_backend == "sqlite":
        pytest.skip("PostgreSQL only: SQLite's connections are files, not sessions")
    engine, admin_engine = create_engine(database_url), create_engine(database_url)
    try:
        async with engine.connect() as conn:
            backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with admin_engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            await admin.commit()
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # it has rested long enough: pinged at checkout
        async with engine.connect() as conn:
            replaced = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert replaced != backend
    finally:
        await engine.dispose()
        await admin_engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(database_url: str, db_backend: str) -> None:
    if db_backend == "sqlite":
        pytest.skip("PostgreSQL only")
    engine = create_engine(database_url)
    pings = 0
    ping = engine.dialect.do_ping

    def counted(connection: object) -> bool:
        nonlocal pings
        pings += 1
        return ping(connection)  # type: ignore[arg-type]

    engine.dialect.do_ping = counted  # type: ignore[method-assign,assignment]
    try:
        for _ in range(5):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert pings == 0
    finally:
        await engine.dispose()
