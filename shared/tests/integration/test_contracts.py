"""The contract suite on the run's database backend (``QD_TEST_DB=sqlite|postgres``).

Each class binds one contract of ``shared.testing.contracts`` to the ``database_url`` fixture;
``python3 dev.py test`` runs the suite once per backend, so every contract holds on both.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.testing.contracts import (
    CommandExecutorContract,
    ConsumerCheckpointContract,
    EventStoreContract,
    MultiFeedConsumerContract,
    OutboxRelayContract,
    ProjectionContract,
    TrustedConsumerContract,
)

pytestmark = pytest.mark.integration


class RunBackend:
    """The backend of this run: a fresh database per test, reached through our own engine settings."""

    url: str

    @pytest.fixture(autouse=True)
    def _database(self, database_url: str) -> None:
        # autouse: set before the contract's ``engine`` fixture asks for an engine
        self.url = database_url

    def create_engine(self) -> AsyncEngine:
        """An engine configured as the services configure theirs."""
        return create_engine(self.url)


class TestEventStore(RunBackend, EventStoreContract):
    """The event store."""


class TestCommandExecutor(RunBackend, CommandExecutorContract):
    """Group commit, on both ways of running a command."""


class TestOutboxRelay(RunBackend, OutboxRelayContract):
    """The outbox relay against a real nats-server."""


class TestConsumerCheckpoint(RunBackend, ConsumerCheckpointContract):
    """Durable consumers, their checkpoints and dead letters."""


class TestMultiFeedConsumer(RunBackend, MultiFeedConsumerContract):
    """Several read models behind one consumer, on this run's backend."""



class TestProjection(RunBackend, ProjectionContract):
    """Projection appliers and rebuild."""


class TestTrustedConsumer(RunBackend, TrustedConsumerContract):
    """Signatures checked, each event id applied once."""


class TestTrustedConsumerWithSignatureHelper(TestTrustedConsumer):
    """The same, with a staged rebuild's and a live consumer's signatures verified in the helper
    process however short the stream or the batch (they use it from ``HELPER_FROM`` on)."""

    @pytest.fixture(autouse=True)
    def _helper_for_every_rebuild(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("shared.rebuild_staged.HELPER_FROM", 0)
        monkeypatch.setattr("shared.messaging.consumer.HELPER_FROM", 0)
