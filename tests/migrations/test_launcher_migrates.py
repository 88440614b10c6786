"""The embedded launcher migrates every instance's database before it starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.stack.launcher import EmbeddedStack
from shared.db import create_engine
from shared.migrations import schema_status, trees_for
from tests.migrations.baseline_db import SCHEMAS

pytestmark = pytest.mark.integration


async def test_launcher_migrates_each_instance_database(tmp_path: Path) -> None:
    stack = EmbeddedStack(tmp_path / "data", nats_port=1, base_port=1)  # nothing is started: ports unused

    stack.migrate()

    assert not stack.nats.running and not stack.processes
    for instance in stack.instances:
        engine = create_engine(stack.env(instance)["QD_DATABASE_URL"])
        try:
            states = await schema_status(engine, trees_for(instance.service, SCHEMAS[instance.service]))
        finally:
            await engine.dispose()
        assert [s.tree for s in states] == ["eventstore", instance.service]
        assert all(s.at_head for s in states), (instance.key, states)
