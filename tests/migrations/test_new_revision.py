"""Writing a revision (what `migrate --new-revision` does), on a scratch tree in a temporary folder
so that the repository's own trees are never written by a test."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Boolean, Column, MetaData, String, Table, false

from shared.db import create_engine, writer
from shared.migrations import Tree, differences, migrate
from shared.migrations.runner import new_revision

pytestmark = pytest.mark.integration


async def _write(tree: Tree, url: str, message: str) -> Path | None:
    engine = create_engine(url)
    try:
        await migrate(engine, (tree,))
        async with writer(engine).begin() as conn:
            return await conn.run_sync(new_revision, tree, (tree,), message)
    finally:
        await engine.dispose()


async def test_a_model_change_becomes_the_next_numbered_revision_and_then_nothing_is_left(tmp_path: Path) -> None:
    metadata = MetaData()
    Table("things", metadata, Column("id", String(36), primary_key=True))
    tree = Tree("scratch", tmp_path / "versions", (metadata,), claims_unknown=True)
    tree.location.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"

    first = await _write(tree, url, "things")
    Table("things", metadata, Column("done", Boolean, nullable=False, server_default=false()), extend_existing=True)
    second = await _write(tree, url, "things are done")
    nothing = await _write(tree, url, "no change")

    assert first is not None and first.name == "scratch_0001_things.py"
    assert second is not None and second.name == "scratch_0002_things_are_done.py"
    assert "server_default=sa.false()" in second.read_text()  # not SQLite's '0', which PostgreSQL refuses
    assert nothing is None
    engine = create_engine(url)
    try:
        assert await differences(engine, (tree,)) == {"scratch": []}
    finally:
        await engine.dispose()
