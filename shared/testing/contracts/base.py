"""The hook every contract hangs on: a backend says how to reach its database."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore import EventStore, Stream
from shared.testing.contracts import support as s


class BackendContract(ABC):
    """What every contract needs from a backend: engines on one empty database of that backend."""

    @abstractmethod
    def create_engine(self) -> AsyncEngine:
        """A new engine on the database under test (every call: another engine, the same database)."""

    @pytest.fixture
    async def engine(self) -> AsyncIterator[AsyncEngine]:
        """An engine with the event store's and the contracts' tables created."""
        engine = self.create_engine()
        await s.create_schema(engine)
        yield engine
        await engine.dispose()

    @staticmethod
    async def stream_of(engine: AsyncEngine, stream_id: str) -> Stream:
        """A stream as stored now."""
        async with engine.connect() as conn:
            return await EventStore(s.SERVICE, s.DEPARTMENT).load(conn, stream_id)

