"""Schema migrations (Alembic) for every service's database, run from code.

``python -m services.<name> migrate`` brings a database to the schema of the running code; the
launcher and docker-compose run it before a service starts. At start a service in production
mode only *checks* that its database is at head and refuses to start otherwise; in development
mode (the embedded default, tests) it migrates by itself. ``create_all`` is never used.

Each database has two trees (see :mod:`shared.migrations.trees`): the event store's and the
service's own, each with its own version table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, writer
from shared.migrations.runner import (
    MigrationError,
    TreeStatus,
    compare,
    new_revision,
    require_head,
    status,
    upgrade,
)
from shared.migrations.trees import EVENTSTORE, Tree, service_tree, trees_for

__all__ = [
    "EVENTSTORE",
    "MigrationError",
    "Tree",
    "TreeStatus",
    "check_at_head",
    "differences",
    "migrate",
    "revision_files",
    "schema_status",
    "service_tree",
    "trees_for",
]

# Any constant will do: it only has to be the same for every process migrating Qingdan databases.
_PG_LOCK_KEY = 0x51_44_4D_49  # "QDMI"


async def migrate(engine: AsyncEngine, trees: tuple[Tree, ...]) -> list[str]:
    """Upgrade every tree to head in one transaction; one line per tree saying what was done.

    On PostgreSQL an advisory lock makes concurrent migrators (several processes of a service
    starting at once) take turns; on SQLite the writer's ``BEGIN IMMEDIATE`` does the same.
    """
    async with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        return await conn.run_sync(upgrade, trees)


async def check_at_head(engine: AsyncEngine, trees: tuple[Tree, ...], service: str) -> None:
    """Raise :class:`MigrationError` (saying to run ``migrate``) unless the database is at head."""
    async with engine.connect() as conn:
        await conn.run_sync(require_head, trees, service)


async def schema_status(engine: AsyncEngine, trees: tuple[Tree, ...]) -> list[TreeStatus]:
    """Each tree's current and head revision."""
    async with engine.connect() as conn:
        return await conn.run_sync(status, trees)


async def differences(engine: AsyncEngine, trees: tuple[Tree, ...]) -> dict[str, list[object]]:
    """What autogenerate finds between the models and the database, per tree."""
    async with engine.connect() as conn:
        return await conn.run_sync(compare, trees)


async def revision_files(service: str, schema: tuple[MetaData, ...], message: str) -> list[Path]:
    """Write a new revision for each tree of ``service`` whose models changed; return the files.

    Compares the models with a scratch SQLite database migrated to head, so it needs no server
    and never touches a real database. Read the files before committing them: autogenerate
    cannot see renames (it proposes drop + add) and only sees what SQLite can reflect.
    """
    trees = trees_for(service, schema)
    written = []
    with tempfile.TemporaryDirectory(prefix="qd-revision-") as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            await migrate(engine, trees)
            for tree in trees:
                async with writer(engine).begin() as conn:
                    path = await conn.run_sync(new_revision, tree, trees, message)
                if path is not None:
                    written.append(path)
        finally:
            await engine.dispose()
    return written
