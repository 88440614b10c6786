"""A database made by main before migrations existed (create_all at 3dcf5fd, frozen in ``baseline/``)
is adopted and upgraded by ``migrate`` with every row intact, and the service works on it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry.adapters.tables import metadata as registry_metadata
from services.registry.application import commands as c
from services.registry.application import persons, views
from services.registry.bootstrap import SYSTEM, build_deps
from services.registry.settings import RegistrySettings
from shared.cli import offline
from shared.db import create_engine
from shared.eventstore.verify import verify_log
from shared.migrations import MigrationError, differences, migrate, schema_status, trees_for
from shared.runtime import ServiceRuntime
from tests.migrations.baseline_db import (
    EVENTSTORE_TABLES,
    MASTER_KEY,
    SCHEMAS,
    comparable,
    frozen_rows,
    load_baseline,
    reflect,
    rows_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's empty database."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _assert_rows_kept(engine: AsyncEngine, expected: dict[str, list[dict[str, object]]]) -> None:
    """Every frozen row is still there, column for column (new columns may have been added)."""
    async with engine.connect() as conn:
        now = await reflect(conn)
        for name, rows in expected.items():
            kept = await rows_of(conn, now.tables[name])
            assert len(kept) == len(rows), f"{name}: {len(rows)} rows before the upgrade, {len(kept)} after"
            for before, after in zip(rows, kept, strict=True):
                assert {k: after[k] for k in before} == {k: comparable(v) for k, v in before.items()}, name


async def test_registry_baseline_with_data_is_upgraded_and_still_works(engine: AsyncEngine, tmp_path: Path) -> None:
    rows = frozen_rows()
    assert rows["person_keys"] and rows["events"] and rows["tracking"] and rows["dead_letters"]
    await load_baseline(engine, "registry", rows)

    done = await migrate(engine, trees_for("registry", SCHEMAS["registry"]))

    assert all("adopted" in line for line in done), done
    assert all(state.at_head for state in await schema_status(engine, trees_for("registry", SCHEMAS["registry"])))
    await _assert_rows_kept(engine, rows)
    checked, problems = await verify_log(engine)
    assert (checked, problems) == (len(rows["events"]), [])
    assert await differences(engine, trees_for("registry", SCHEMAS["registry"])) == {"eventstore": [], "registry": []}

    # The registry runs on the upgraded database: it opens the frozen persons' sealed data with
    # the wrapped keys that were there before, and registers a new person after them.
    settings = RegistrySettings(database_url=str(engine.url.render_as_string(hide_password=False)),
                                data_dir=tmp_path, master_key=MASTER_KEY, log_level="WARNING")
    runtime = ServiceRuntime.build(settings, schema=(registry_metadata,), publishes=False)
    deps = build_deps(settings, runtime)
    async with offline(runtime):
        async with runtime.engine.connect() as conn:
            seen = {(await views.get_person(conn, deps, SYSTEM, row["person_id"]))[0]["name"]
                    for row in rows["persons"]}
        village = rows["persons"][0]["village_code"]
        command = c.RegisterPerson(certificate_number="51140319900303003041", name="升级后登记", village_code=village)
        created = await runtime.executor.run_buffered(
            lambda uow: persons.register_person(uow, deps, SYSTEM, command))
    assert seen == {"演示人甲", "演示人乙"}
    assert created["person_id"]
    checked, problems = await verify_log(engine)
    assert checked > len(rows["events"]) and problems == []


@pytest.mark.parametrize("service", list(SCHEMAS))
async def test_every_service_baseline_is_adopted(engine: AsyncEngine, service: str) -> None:
    rows = {name: table_rows for name, table_rows in frozen_rows().items() if name in EVENTSTORE_TABLES}
    await load_baseline(engine, service, rows)
    trees = trees_for(service, SCHEMAS[service])

    done = await migrate(engine, trees)
    again = await migrate(engine, trees)

    assert [line.split(":")[0] for line in done] == ["eventstore", service]
    assert all("adopted" in line for line in done), done
    assert all("adopted" not in line for line in again), again
    assert all(state.at_head for state in await schema_status(engine, trees))
    await _assert_rows_kept(engine, rows)
    assert await differences(engine, trees) == {"eventstore": [], service: []}


async def test_a_database_with_only_some_baseline_tables_is_refused_untouched(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE events (position INTEGER PRIMARY KEY)"))

    with pytest.raises(MigrationError, match="some of the tables of the first revision"):
        await migrate(engine, trees_for("registry", SCHEMAS["registry"]))

    async with engine.connect() as conn:
        assert set((await reflect(conn)).tables) == {"events"}


async def test_inspections_staff_roles_become_json_lists(engine: AsyncEngine) -> None:
    """Revision inspections_0002 rewrites the comma-joined roles of the learned staff as JSON lists."""
    staff = {"staff_id": "s1", "display_name": "李", "department": "health", "roles": "viewer,inspector",
             "township_code": None}
    await load_baseline(engine, "inspections", {"known_staff": [staff]})

    await migrate(engine, trees_for("inspections", SCHEMAS["inspections"]))

    async with engine.connect() as conn:
        roles = (await conn.execute(text("SELECT roles FROM known_staff"))).scalar_one()
    assert json.loads(roles) == ["inspector", "viewer"]
