"""The repository on the run's database backend: load folds or 404s, save appends with an expected
version and writes the inline projection's rows in the same transaction, buffered or direct."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from shared.aggregate import Kind, prefixed
from shared.catalogue import EventPayload
from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import utcnow
from shared.errors import ConcurrencyConflict, NotFound
from shared.eventstore import CommandContext
from shared.eventstore.repository import Change, InlineProjection, Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.projection import Operation, Patch, Upsert
from shared.testing.usecases import UseCaseBench

pytestmark = pytest.mark.integration

metadata = MetaData()
names = Table("repo_names", metadata, Column("unit_id", String(50), primary_key=True),
              Column("name", String(100), nullable=False), Column("version", Integer, nullable=False))


@dataclass(frozen=True)
class Unit:
    """A toy aggregate: its latest name and how many events made it."""

    unit_id: str
    name: str
    events: int


def evolve(state: Unit | None, event: EventPayload) -> Unit:
    assert isinstance(event, OrgUnitEstablished)
    return Unit(event.code, event.name, (state.events if state else 0) + 1)


UNIT: Kind[Unit] = Kind("unit", prefixed("unit"), evolve)


def rows(change: Change) -> Sequence[Operation]:
    state: Unit = change.state
    values = {"name": state.name, "version": change.version}
    key = {"unit_id": state.unit_id}
    return [Upsert(names, key, values) if change.created else Patch(names, key, values)]


CTX = CommandContext(actor="tester", department="federation", now=utcnow())
CODE = "511403000000"


def named(name: str) -> OrgUnitEstablished:
    return OrgUnitEstablished(code=CODE, name=name, level="district")


@pytest.fixture
async def bench(database_url: str) -> AsyncIterator[UseCaseBench]:
    async with UseCaseBench.open(database_url, [metadata], service="contract") as bench:
        yield bench


@pytest.fixture
def repository(bench: UseCaseBench) -> Repository:
    return Repository(bench.store, InlineProjection({"unit": rows}))


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "direct"])
async def test_save_writes_events_and_rows_and_load_folds_them(
    bench: UseCaseBench, repository: Repository, buffered: bool
) -> None:
    async def create(uow: UnitOfWork) -> int:
        saved = await repository.save(uow, UNIT, Repository.new(UNIT, CODE), [named("一")], CTX, expected_version=0)
        return saved.version

    async def rename(uow: UnitOfWork) -> Unit:
        unit = await repository.load(uow, UNIT, CODE)
        saved = await repository.save(uow, UNIT, unit, [named("二"), named("三")], CTX, expected_version=1)
        return saved.state

    assert await bench.run(create, buffered=buffered) == 1
    assert await bench.rows(names) == [{"unit_id": CODE, "name": "一", "version": 1}]
    assert await bench.run(rename, buffered=buffered) == Unit(CODE, "三", 3)
    assert await bench.rows(names) == [{"unit_id": CODE, "name": "三", "version": 3}]
    loaded = await bench.read(lambda conn: repository.load(conn, UNIT, CODE))
    assert (loaded.version, loaded.state) == (3, Unit(CODE, "三", 3))


async def test_load_of_a_missing_entity_is_not_found_and_find_is_empty(
    bench: UseCaseBench, repository: Repository
) -> None:
    with pytest.raises(NotFound) as missing:
        await bench.read(lambda conn: repository.load(conn, UNIT, "nothing", missing="no such unit"))
    assert (missing.value.code, missing.value.message) == ("not_found", "no such unit")
    found = await bench.read(lambda conn: repository.find(conn, UNIT, "nothing"))
    assert (found.version, found.state) == (0, None)
    never = Kind[Unit]("unit", lambda _id: None, evolve)
    with pytest.raises(NotFound):  # an id that cannot name such an entity reads nothing
        await bench.read(lambda conn: repository.find(conn, never, "x"))


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "direct"])
async def test_a_stale_version_writes_neither_events_nor_rows(
    bench: UseCaseBench, repository: Repository, buffered: bool
) -> None:
    await bench.run(lambda uow: repository.save(uow, UNIT, Repository.new(UNIT, CODE), [named("一")], CTX,
                                                expected_version=0), buffered=buffered)

    async def stale(uow: UnitOfWork) -> object:
        unit = await repository.load(uow, UNIT, CODE)
        return await repository.save(uow, UNIT, unit, [named("二")], CTX, expected_version=0)

    with pytest.raises(ConcurrencyConflict) as conflict:
        await bench.run(stale, buffered=buffered)
    assert (conflict.value.expected, conflict.value.actual) == (0, 1)
    assert await bench.rows(names) == [{"unit_id": CODE, "name": "一", "version": 1}]
    assert (await bench.stream(f"unit-{CODE}")).version == 1


async def test_commands_of_one_batch_see_each_others_events(bench: UseCaseBench, repository: Repository) -> None:
    async def step(uow: UnitOfWork) -> int:
        found = await repository.find(uow, UNIT, CODE)
        saved = await repository.save(uow, UNIT, found, [named(f"n{found.version}")], CTX,
                                      expected_version=found.version)
        return saved.version

    versions = await asyncio.gather(*(bench.run(step, buffered=True) for _ in range(5)))
    assert sorted(versions) == [1, 2, 3, 4, 5]
    assert await bench.rows(names) == [{"unit_id": CODE, "name": "n4", "version": 5}]
