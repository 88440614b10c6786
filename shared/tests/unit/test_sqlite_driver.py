"""The fused aiosqlite connection (shared.sqlite_driver): same results as SQLAlchemy's, fewer hand-offs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select, text
from sqlalchemy.exc import IntegrityError

from shared.db import create_engine, writer
from shared.sqlite_driver import PREFETCH, FusedConnection, live_fused

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


async def test_results_streams_and_errors_are_those_of_the_statements(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fused.db'}")
    try:
        async with writer(engine).begin() as conn:
            await conn.run_sync(metadata.create_all)
            first = await conn.execute(insert(items).values(name="first"))
            assert first.inserted_primary_key == (1,)  # lastrowid carried back
            await conn.execute(insert(items), [{"name": f"n{i:05}"} for i in range(3 * PREFETCH + 7)])
        async with engine.connect() as conn:
            names = (await conn.execute(select(items.c.name).order_by(items.c.id))).scalars().all()
            assert len(names) == 3 * PREFETCH + 8 and names[0] == "first" and names[-1] == f"n{3 * PREFETCH + 6:05}"
            streamed = await conn.stream(select(items.c.id).order_by(items.c.id))  # fetched in chunks
            ids = [row.id async for row in streamed]
            assert ids == list(range(1, 3 * PREFETCH + 9))
            one = (await conn.execute(select(items.c.name).where(items.c.id == 2))).scalar_one()
            assert one == "n00000"
        async with writer(engine).begin() as conn:
            gone = (await conn.execute(delete(items).where(items.c.id > 3).returning(items.c.id))).scalars().all()
            assert sorted(gone) == list(range(4, 3 * PREFETCH + 9))
        with pytest.raises(IntegrityError):
            async with writer(engine).begin() as conn:
                await conn.execute(insert(items).values(name="first"))
        async with engine.connect() as conn:
            assert (await conn.execute(select(items.c.id).order_by(items.c.id))).scalars().all() == [1, 2, 3]
    finally:
        await engine.dispose()


def _counting_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, count every hand-off to an aiosqlite connection's thread (in the list's one item)."""
    calls = [0]
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object) -> object:
        calls[0] += 1
        return await execute(self, fn, *args)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls


async def test_a_statement_is_one_hand_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    try:
        async with writer(engine).begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with engine.connect() as conn:
            calls = _counting_hand_offs(monkeypatch)
            await conn.execute(select(items.c.id))
            assert calls[0] == 1  # the transaction's BEGIN went with the SELECT
            await conn.execute(select(items.c.id))
            assert calls[0] == 2  # a statement with its rows: one (aiosqlite's cursor, execute, fetchall, close: four)
        async with writer(engine).connect() as conn:
            before = calls[0]
            async with conn.begin():
                pass
            assert calls[0] == before  # a transaction that ran nothing began nothing and commits nothing
    finally:
        monkeypatch.undo()
        await engine.dispose()


async def test_steps_in_a_transaction_of_their_own_commit_all_or_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'own.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert isinstance(driver, FusedConnection)
            insert_rows = "INSERT INTO t (k) VALUES (?)"
            await driver.run_steps([(insert_rows, [(1,), (2,)], False)], commit=True, begin="BEGIN IMMEDIATE")
            with pytest.raises(sqlite3.IntegrityError):  # the second step fails: the first is undone too
                await driver.run_steps([(insert_rows, [(3,)], False), (insert_rows, [(1,)], False)],
                                       commit=True, begin="BEGIN IMMEDIATE")
            assert not await driver.run_on_thread(lambda: driver.sqlite.in_transaction)  # rolled back, not left open
            assert (await conn.execute(text("SELECT k FROM t ORDER BY k"))).scalars().all() == [1, 2]
    finally:
        await engine.dispose()


async def test_held_writes_run_in_order_with_the_next_hand_off_and_commit_with_the_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'held.db'}")
    insert_rows, bump = "INSERT INTO t (k, v) VALUES (?, ?)", "UPDATE t SET v = v + 1 WHERE k = ?"
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
        calls = _counting_hand_offs(monkeypatch)
        async with writer(engine).begin() as conn:
            driver = live_fused(conn)
            assert driver is not None
            await conn.execute(text("SELECT 1"))  # the transaction's BEGIN ran with it
            driver.defer_writes()
            before = calls[0]
            driver.defer((insert_rows, [(1, 10), (2, 20)], False))
            driver.defer((bump, [(1,)], False))  # after the insert it follows: the order is kept
            assert calls[0] == before  # held, not run
            seen = (await conn.execute(text("SELECT k, v FROM t ORDER BY k"))).all()
            assert [tuple(r) for r in seen] == [(1, 11), (2, 20)] and calls[0] == before + 1  # ran with the read
            driver.defer((bump, [(2,)], False))
        assert calls[0] == before + 2  # the last held write and the COMMIT: one hand-off
        assert not driver.deferring  # the transaction ended: writes run at once again
        async with engine.connect() as conn:
            assert [tuple(r) for r in (await conn.execute(text("SELECT k, v FROM t ORDER BY k"))).all()] == [
                (1, 11), (2, 21)]
    finally:
        monkeypatch.undo()
        await engine.dispose()


async def test_a_held_write_that_fails_fails_its_hand_off_and_nothing_of_the_transaction_is_kept(
        tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'held_fail.db'}")
    insert_rows = "INSERT INTO t (k) VALUES (?)"
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t (k) VALUES (1)"))
        with pytest.raises(IntegrityError):
            async with writer(engine).begin() as conn:
                driver = live_fused(conn)
                assert driver is not None
                driver.defer_writes()
                driver.defer((insert_rows, [(2,)], False))
                driver.defer((insert_rows, [(1,)], False))  # taken: raised by the commit's hand-off
        async with writer(engine).begin() as conn:  # rolled back; a held write of before is not run again
            driver = live_fused(conn)
            assert driver is not None and not driver.deferring
            driver.defer_writes()
            driver.defer((insert_rows, [(3,)], False))
            await conn.rollback()  # dropped, not run
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT k FROM t ORDER BY k"))).scalars().all() == [1]
        with pytest.raises(RuntimeError):  # a write that returns rows cannot be held
            async with writer(engine).begin() as conn:
                driver = live_fused(conn)
                assert driver is not None
                driver.defer_writes()
                driver.defer(("INSERT INTO t (k) VALUES (?) RETURNING k", [(4,)], True))
    finally:
        await engine.dispose()
