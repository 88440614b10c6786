"""A batch folded in memory and written per table ends as the same rows as its operations applied one by one."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, select, text

from shared.db import create_engine
from shared.projection import Delete, Increment, Operation, Patch, Upsert, apply_folded, apply_sql

pytestmark = pytest.mark.integration

metadata = MetaData()
people = Table("fold_people", metadata, Column("pid", String(8), primary_key=True),
               Column("name", String(20), nullable=False), Column("active", Boolean, nullable=False, default=True),
               Column("visits", Integer, nullable=False, default=0), Column("note", String(20)),
               Column("score", Integer, default=5),
               Column("stars", Integer, nullable=False, default=0, server_default=text("0")))
years = Table("fold_years", metadata, Column("pid", String(8), primary_key=True),
              Column("year", Integer, primary_key=True), Column("done", Integer),
              Column("flag", Boolean, default=False))
by_name = Table("fold_by_name", metadata, Column("pid", String(8), primary_key=True),
                Column("name", String(20), nullable=False))


def _random_ops(rng: random.Random, count: int) -> list[Operation]:
    ops: list[Operation] = []
    for _ in range(count):
        pid = f"p{rng.randrange(12)}"
        year = 2020 + rng.randrange(3)
        kind = rng.randrange(13)
        if kind == 0:
            ops.append(Upsert(people, {"pid": pid}, {"name": f"n{rng.randrange(99)}"}))
        elif kind == 1:
            ops.append(Patch(people, {"pid": pid}, {"note": f"x{rng.randrange(9)}", "active": rng.random() < 0.5}))
        elif kind == 2:
            ops.append(Increment(people, {"pid": pid}, "visits", by=rng.randrange(1, 4), defaults={"name": "new"}))
        elif kind == 3:
            ops.append(Delete(people, {"pid": pid}))
        elif kind == 4:
            ops.append(Upsert(years, {"pid": pid, "year": year}, {"flag": rng.random() < 0.5}))
        elif kind == 5:
            ops.append(Increment(years, {"year": year, "pid": pid}, "done"))
        elif kind == 6:
            ops.append(Upsert(years, {"pid": pid, "year": year}, {}))
        elif kind == 9:  # an increment of a column the batch may have set
            ops.append(Upsert(people, {"pid": pid}, {"name": "set", "visits": rng.randrange(5)}))
        elif kind == 10:  # a non-zero default: the row is read before it is added to
            ops.append(Increment(people, {"pid": pid}, "score", by=2, defaults={"name": "scored"}))
        elif kind == 11:  # a default the server knows too, as the read models' counts have
            ops.append(Increment(people, {"pid": pid}, "stars", defaults={"name": "starred"}))
        elif kind == 12:
            ops.append(Increment(years, {"pid": pid, "year": year}, "done", by=rng.randrange(-2, 3)))
        elif kind == 7:
            # keyed by a non-key column: applied in order, not folded
            ops.append(Patch(by_name, {"name": f"n{rng.randrange(3)}"}, {"name": f"n{rng.randrange(3)}"}))
        else:
            ops.append(Upsert(by_name, {"pid": pid}, {"name": f"n{rng.randrange(3)}"}))
    return ops


async def _contents(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: sorted(tuple(r) for r in await conn.execute(select(t))) for t in metadata.sorted_tables}


async def test_folding_a_batch_changes_the_rows_as_applying_it_in_order(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        rng = random.Random(5)
        for _round in range(25):
            history = _random_ops(rng, 40)  # the state both start from
            batch = _random_ops(rng, rng.randrange(1, 80))
            results = []
            for apply_batch in (apply_sql, apply_folded):
                async with engine.begin() as conn:
                    for table in metadata.sorted_tables:
                        await conn.execute(table.delete())
                    await apply_sql(conn, history)
                    await apply_batch(conn, batch)
                    results.append(await _contents(conn))
            assert results[0] == results[1]
    finally:
        await engine.dispose()
