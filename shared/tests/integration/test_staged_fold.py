"""A staged rebuild's chunks written rows only, the counters counted once at the end, end as the
same rows and counters as the live consumer's folded batches (``apply_folded``, counters moved per batch)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, select

from shared import staged_fold
from shared.db import create_engine
from shared.projection import (
    CounterKey,
    Delete,
    Increment,
    Operation,
    Patch,
    Row,
    RowOperation,
    Tallied,
    Tally,
    Upsert,
    apply_folded,
    tallied,
)
from shared.rebuild_staged import staging_table
from shared.staged_fold import count_tallies, row_changes, untallied, write_rows

pytestmark = pytest.mark.integration

metadata = MetaData()
people = Table("sf_people", metadata, Column("pid", String(8), primary_key=True),
               Column("place", String(8), nullable=False), Column("active", Boolean, nullable=False, default=True),
               Column("visits", Integer, nullable=False, default=0))
years = Table("sf_years", metadata, Column("pid", String(8), primary_key=True, index=True),
              Column("year", Integer, primary_key=True), Column("done", Integer),
              Column("flag", Boolean, default=False))
place_counts = Table("sf_place_counts", metadata, Column("place", String(8), primary_key=True),
                     Column("active", Integer, nullable=False, default=0),
                     Column("visited", Integer, nullable=False, default=0))
year_counts = Table("sf_year_counts", metadata, Column("year", Integer, primary_key=True),
                    Column("flagged", Integer, nullable=False, default=0),
                    Column("done", Integer, nullable=False, default=0))
names = Table("sf_names", metadata, Column("pid", String(8), primary_key=True),
              Column("name", String(8), nullable=False))


def _count(rows: Mapping[str, Sequence[Row]]) -> Iterable[CounterKey]:
    person = rows["sf_people"][0] if rows["sf_people"] else None
    if person is None or not person["active"]:
        return
    yield place_counts, (("place", person["place"]),), "active"
    if person["visits"]:
        yield place_counts, (("place", person["place"]),), "visited"
    for year in rows["sf_years"]:
        if year["flag"]:
            yield year_counts, (("year", year["year"]),), "flagged"
        if year["done"]:
            yield year_counts, (("year", year["year"]),), "done"


TALLY = Tally("sf", subject="pid", sources=(people, years), counters=(place_counts, year_counts), count=_count)


def _random_ops(rng: random.Random, count: int) -> list[Operation]:
    ops: list[Operation] = []
    for _ in range(count):
        pid = f"p{rng.randrange(40):02d}"
        year = 2020 + rng.randrange(3)
        kind = rng.randrange(10)
        row_op: RowOperation
        if kind == 0:
            row_op = Upsert(people, {"pid": pid}, {"place": f"v{rng.randrange(4)}", "active": True})
        elif kind == 1:
            row_op = Patch(people, {"pid": pid}, {"place": f"v{rng.randrange(4)}", "active": rng.random() < 0.7})
        elif kind == 2:
            row_op = Increment(people, {"pid": pid}, "visits", defaults={"place": "v0"})
        elif kind == 3:
            row_op = Delete(people, {"pid": pid})
        elif kind == 4:
            row_op = Upsert(years, {"pid": pid, "year": year}, {"flag": rng.random() < 0.5})
        elif kind == 5:
            row_op = Increment(years, {"year": year, "pid": pid}, "done")
        elif kind == 6:
            row_op = Delete(years, {"pid": pid, "year": year})
        elif kind == 7:  # keyed by a non-key column: applied in order, not folded
            ops.append(Patch(names, {"name": f"n{rng.randrange(3)}"}, {"name": f"n{rng.randrange(3)}"}))
            continue
        else:
            ops.append(Upsert(names, {"pid": pid}, {"name": f"n{rng.randrange(3)}"}))
            continue
        ops.append(Tallied(TALLY, pid, (row_op,)))
    return ops


async def _contents(conn: Any, tables: Mapping[str, Table]) -> dict[str, list[tuple[Any, ...]]]:
    return {name: sorted(tuple(r) for r in await conn.execute(select(t))) for name, t in tables.items()}


@pytest.mark.parametrize("seed", [3, 11])
async def test_rows_then_counts_equal_the_counters_moved_batch_by_batch(
    database_url: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staged_fold, "SUBJECTS", 7)  # several pages of subjects
    originals = {t.name: t for t in metadata.sorted_tables}
    staging = {name: staging_table(t) for name, t in originals.items()}
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
            for table in staging.values():
                await conn.run_sync(table.drop, checkfirst=True)
                await conn.run_sync(table.create)
        rng = random.Random(seed)
        batches = [_random_ops(rng, rng.randrange(1, 120)) for _ in range(12)]
        tallies: dict[str, Tally] = {}
        plain: set[str] = set()
        for batch in batches:  # each in a transaction of its own, as the consumer and the rebuild do
            async with engine.begin() as conn:
                await apply_folded(conn, batch)
            async with engine.begin() as conn:
                await write_rows(conn, untallied(batch, tallies, plain), staging)
        assert list(tallies) == ["sf"] and plain == {"sf_names"}
        async with engine.begin() as conn:
            await count_tallies(conn, tallies.values(), staging)
        async with engine.connect() as conn:
            live, staged = await _contents(conn, originals), await _contents(conn, staging)
        assert live["sf_place_counts"] and live["sf_year_counts"]  # the test counts something
        assert staged == live
    finally:
        async with engine.begin() as conn:
            for table in staging.values():
                await conn.run_sync(table.drop, checkfirst=True)
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()


def test_row_changes_of_a_tallied_projection_are_its_untallied_answers() -> None:
    from shared.catalogue.people import OrgUnitEstablished

    def changes(_envelope: Any, event: Any) -> list[Operation]:
        subject = getattr(event, "code", None)
        return [Upsert(people, {"pid": subject}, {"place": "v1"}), Upsert(names, {"pid": "x"}, {"name": "n"})]

    unit = OrgUnitEstablished(code="511403000001", name="a", level="village", parent_code=None)
    for tally_subject, wrapped_expected in (("code", True), ("nothing", False)):
        tally = Tally("t", subject=tally_subject, sources=(people,), counters=(place_counts,), count=_count)
        wrapped = tallied(tally, changes)
        expected_tallies: dict[str, Tally] = {}
        expected_plain: set[str] = set()
        expected = untallied(wrapped(None, unit), expected_tallies, expected_plain)  # type: ignore[arg-type]
        tallies: dict[str, Tally] = {}
        plain: set[str] = set()
        assert row_changes(wrapped, tallies, plain)(None, unit) == expected  # type: ignore[arg-type]
        assert (tallies, plain) == (expected_tallies, expected_plain)
        assert bool(tallies) is wrapped_expected
