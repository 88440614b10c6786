"""Fixtures for end-to-end tests: the real services as processes over a real NATS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.testing.servers import NatsServerProcess, PostgresAdmin, PostgresDatabase
from shared.testing.stack import Stack


@pytest.fixture
def stack_factory(
    request: pytest.FixtureRequest, tmp_path: Path, db_backend: str, run_id: str
) -> Iterator[object]:
    """Make a :class:`Stack` on a given NATS server; every service gets a database of its own."""
    databases: list[PostgresDatabase] = []
    stacks: list[Stack] = []

    def database_url(key: str) -> str:
        if db_backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / key}.db"
        admin: PostgresAdmin = request.getfixturevalue("pg_admin")
        database = PostgresDatabase(admin.url, run_id=run_id)
        databases.append(database)
        return database.create(f"{request.node.name}_{key}")

    def make(nats: NatsServerProcess) -> Stack:
        stack = Stack(tmp_path / "stack", nats, namespace=f"t{run_id}{uuid.uuid4().hex[:6]}", database_url=database_url)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    for database in databases:
        database.drop()
