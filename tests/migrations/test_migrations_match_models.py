"""The migrations build exactly the tables the models describe, on the run's backend
(``QD_TEST_DB=postgres`` for PostgreSQL); production refuses a database that is not at head."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry.adapters.tables import metadata as registry_metadata
from services.registry.settings import RegistrySettings
from shared.db import create_engine
from shared.migrations import MigrationError, check_at_head, differences, migrate, trees_for
from shared.runtime import ServiceRuntime
from shared.signing import Signer
from tests.migrations.baseline_db import SCHEMAS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on this test's empty database."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", list(SCHEMAS))
async def test_autogenerate_finds_nothing_to_do(engine: AsyncEngine, service: str) -> None:
    trees = trees_for(service, SCHEMAS[service])
    await migrate(engine, trees)

    found = await differences(engine, trees)

    assert found == {tree.name: [] for tree in trees}, (
        f"the models of {service} differ from its migrations: {found}. Add a revision with "
        f"`python -m services.{service} migrate --new-revision 'what changed'` (docs/operations.md)")


async def test_production_refuses_to_start_below_head_and_says_what_to_run(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = RegistrySettings(database_url=engine.url.render_as_string(hide_password=False), data_dir=tmp_path)
    # The check, without production's other secrets (a writing service always loads its signing key).
    production = settings.model_copy(update={"mode": "production", "signing_key": Signer.generate().seed_base64()})
    runtime = ServiceRuntime.build(production, schema=(registry_metadata,), publishes=False)
    try:
        with pytest.raises(MigrationError, match=r"run `python -m services\.registry migrate` first"):
            await runtime.create_schema()
        async with engine.connect() as conn:
            assert not await conn.run_sync(lambda c: c.dialect.has_table(c, "events")), "production created tables"

        await migrate(engine, trees_for("registry", SCHEMAS["registry"]))
        await runtime.create_schema()  # at head now: starts
        await check_at_head(engine, trees_for("registry", SCHEMAS["registry"]), "registry")
    finally:
        await runtime.engine.dispose()


def test_migrate_command_migrates_and_check_tells_head(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "QD_DATABASE_URL": database_url, "QD_DATA_DIR": str(tmp_path)}

    def migrate_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.inspections", "migrate", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    before = migrate_cli("--check")
    done = migrate_cli()
    after = migrate_cli("--check")

    assert before.returncode == 1 and "never migrated" in before.stdout and "run `python" in before.stderr
    assert done.returncode == 0, done.stderr
    assert [line.split(" -> ")[0] for line in done.stdout.splitlines()] == ["eventstore: empty", "inspections: empty"]
    assert after.returncode == 0, after.stderr
