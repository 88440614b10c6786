"""The townships' scoreboard reads one level of the coverage tree (``district_children``): on the run's
database backend, its figures equal the whole tree's for every township, odd rows included."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections import counters
from services.reporting.projections.coverage import cov_persons, cov_units, cov_years
from services.reporting.queries.coverage import coverage, coverage_tree, district_children
from services.reporting.read_models import SCHEMA
from shared.db import create_engine

pytestmark = pytest.mark.integration

DISTRICT = "511403000000"
TOWNSHIPS = ("511403001000", "511403003000", "511403110000")  # the last has no village and nobody registered
VILLAGES = [("511403001001", "511403001000"), ("511403001002", "511403001000"), ("511403003001", "511403003000")]
# persons counted at a township's own code, and at a village no unit names (shown apart, in no township)
ODD = [("511403003000", "511403003000"), ("511403009009", "511403009000")]
FIELDS = ("registered", "attempted", "visited", "lost", "planned", "delivered", "attempted_rate", "visited_rate",
          "lost_rate", "planned_rate", "delivered_rate")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    rng = random.Random(4)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        for metadata in SCHEMA:
            await conn.run_sync(metadata.create_all)
        units = [{"code": DISTRICT, "name": "彭山区", "level": "district", "parent_code": None}]
        units += [{"code": t, "name": f"镇{t[6:9]}", "level": "township", "parent_code": DISTRICT} for t in TOWNSHIPS]
        units += [{"code": v, "name": f"村{v[9:]}", "level": "village", "parent_code": t} for v, t in VILLAGES]
        await conn.execute(insert(cov_units), units)
        persons, years = [], []
        for n in range(120):
            village, township = rng.choice(VILLAGES + ODD)
            severe = rng.random() < 0.35
            persons.append({"person_id": f"p{n:03d}", "village_code": village, "township_code": township,
                            "category": 4, "grade": 1 if severe else 3, "severe": severe,
                            "hardship": rng.random() < 0.3, "active": rng.random() > 0.1})
            for year in (2025, 2026):
                if rng.random() < 0.2:
                    continue
                attempted = rng.random() < 0.8
                visited = attempted and rng.random() < 0.85
                planned = visited and rng.random() < 0.6
                years.append({"person_id": f"p{n:03d}", "year": year, "attempted": attempted, "visited": visited,
                              "lost_to_follow_up": attempted and not visited,
                              "lost_reason": "moved" if attempted and not visited else None,
                              "planned": planned, "delivered": rng.randint(0, 2) if planned else 0})
        await conn.execute(insert(cov_persons), persons)
        await conn.execute(insert(cov_years), years)
        await counters.fill(conn)  # the counters as the projection would have left them
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_the_district_childrens_figures_equal_the_whole_trees(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for year in (2025, 2026, 2027):
            tree = await coverage_tree(conn, year)
            children = await district_children(conn, year)
            assert sorted(c.code for c in children) == sorted(c.code for c in tree[DISTRICT].children)
            for child in children:
                whole, one_level = tree[child.code].groups["all"].as_json(), child.groups["all"].as_json()
                assert {f: one_level[f] for f in FIELDS} == {f: whole[f] for f in FIELDS}, (year, child.code)
                assert (child.name, child.level) == (tree[child.code].name, "township")
            shown = (await coverage(conn, year, None, 1))["children"]
            assert {c["code"]: c["all"]["registered"] for c in shown} == {
                c.code: c.groups["all"].registered for c in children}
    assert tree["511403003000"].groups["all"].registered > 0  # the odd rows were there to be counted
    assert tree["511403110000"].groups["all"].registered == 0


async def test_without_a_district_there_are_no_children(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for metadata in SCHEMA:
                await conn.run_sync(metadata.create_all)
            await conn.execute(insert(cov_units), [{"code": TOWNSHIPS[0], "name": "镇", "level": "township",
                                                     "parent_code": DISTRICT}])
            assert await district_children(conn, 2026) == []
    finally:
        await engine.dispose()
