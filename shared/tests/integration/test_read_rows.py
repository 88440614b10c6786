"""``read_rows`` reads what SQLAlchemy's own ``SELECT`` reads, with one compiled statement per padded key count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    event,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from shared.db import create_engine
from shared.driver_sql import _keyed_select, read_rows

pytestmark = pytest.mark.integration

metadata = MetaData()
things = Table("rr_things", metadata,
               Column("owner", String(20), primary_key=True), Column("n", Integer, primary_key=True),
               Column("kind", String(10), nullable=False), Column("due_on", Date),
               Column("seen_at", DateTime(timezone=True)),
               Column("done", Boolean, nullable=False), Column("big", BigInteger), Column("extra", JSON))
COLUMNS = tuple(c.name for c in things.columns)
LOCK_ONE = "SELECT n FROM rr_things WHERE"


def _row(owner: str, n: int) -> dict[str, Any]:
    return {"owner": owner, "n": n, "kind": f"k{n % 3}", "due_on": date(2026, 1 + n % 12, 1 + n % 28),
            "seen_at": datetime(2026, 3, 4, 5, 6, n % 60, tzinfo=UTC) if n % 2 else None,
            "done": n % 2 == 0, "big": 2**40 + n, "extra": {"a": [n, "文"]} if n % 3 else None}


async def _engine_with_rows(database_url: str, count: int = 320) -> Any:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(things.insert(), [_row(f"o{n % 7}", n) for n in range(count)])
    return engine


def _normalised(row: dict[str, Any]) -> dict[str, Any]:
    # SQLite keeps no time zone: compare the instants as UTC
    seen = row["seen_at"]
    if seen is not None and seen.tzinfo is None:
        row = {**row, "seen_at": seen.replace(tzinfo=UTC)}
    return row


async def test_rows_read_by_key_equal_sqlalchemys_own_select(database_url: str) -> None:
    engine = await _engine_with_rows(database_url)
    try:
        async with engine.connect() as conn:
            keys = [(f"o{n % 7}", n) for n in (0, 1, 2, 5, 77, 319)] + [("nobody", 1), ("o0", 0)]  # a miss, a repeat
            found = await read_rows(conn, things, COLUMNS, keys)
            expected = [dict(r._mapping) for r in await conn.execute(
                select(things).where(things.c.n.in_([0, 1, 2, 5, 77, 319])))]
            assert sorted(map(_normalised, found), key=lambda r: r["n"]) == sorted(
                map(_normalised, expected), key=lambda r: r["n"])
            assert {type(r["due_on"]) for r in found} == {date}
            assert {type(r["done"]) for r in found} == {bool}
            assert next(r for r in found if r["n"] == 5)["extra"] == {"a": [5, "文"]}
            assert next(r for r in found if r["n"] == 1)["seen_at"] is not None

            by_owner = await read_rows(conn, things, ("n", "kind"), [("o3",), ("o4",)], by=("owner",))
            assert sorted(r["n"] for r in by_owner) == [n for n in range(320) if n % 7 in (3, 4)]
            assert all(set(r) == {"n", "kind"} for r in by_owner)
    finally:
        await engine.dispose()


async def test_key_lists_are_padded_to_a_power_of_two_and_chunked(database_url: str) -> None:
    engine = await _engine_with_rows(database_url)
    try:
        async with engine.connect() as conn:
            before = _keyed_select.cache_info().currsize
            for count in (5, 6, 7, 8):  # one statement for all four (8 keys)
                found = await read_rows(conn, things, ("n",), [(n,) for n in range(count)], by=("n",))
                assert sorted(r["n"] for r in found) == list(range(count))
            assert _keyed_select.cache_info().currsize == before + 1
            many = await read_rows(conn, things, ("n",), [(n,) for n in range(300)], by=("n",))  # 256 + 44
            assert sorted(r["n"] for r in many) == list(range(300))
    finally:
        await engine.dispose()


async def test_no_keys_read_nothing_and_send_no_statement(database_url: str) -> None:
    engine = await _engine_with_rows(database_url, count=3)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    try:
        async with engine.connect() as conn:
            assert await read_rows(conn, things, COLUMNS, []) == []
        assert not [s for s in statements if "rr_things" in s]
    finally:
        await engine.dispose()


async def test_lock_holds_the_rows_on_postgresql(database_url: str, db_backend: str) -> None:
    engine = await _engine_with_rows(database_url, count=10)
    try:
        async with engine.begin() as holder:
            found = await read_rows(holder, things, ("n",), [("o1", 1)], lock=True)
            assert [r["n"] for r in found] == [1]
            if db_backend != "postgres":
                return  # SQLite's single writer: nothing to lock, and the statement must still run
            async with engine.connect() as other:
                with pytest.raises(DBAPIError):
                    await other.execute(text(f"{LOCK_ONE} owner = 'o1' AND n = 1 FOR UPDATE NOWAIT"))
                await other.rollback()
                free = await other.execute(text(f"{LOCK_ONE} owner = 'o2' AND n = 2 FOR UPDATE NOWAIT"))
                assert free.scalar_one() == 2
    finally:
        await engine.dispose()
