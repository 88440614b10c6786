"""One contract suite, every backend: what the event store, the outbox relay, consumer checkpoints
and projections promise, written once as abstract test classes.

A backend subclasses each contract and says how to reach its database with ``create_engine()``
(the pattern of the eventsourcing library, whose `eventsourcing/tests/persistence.py` defines
abstract recorder tests that each backend binds with its own ``create_recorder()``).
``shared/tests/integration/test_contracts.py`` binds them to the run's backend (``QD_TEST_DB``),
so ``python3 dev.py test`` runs every contract on SQLite and on PostgreSQL. The contracts that
need NATS use the ``nats_url`` / ``nats_server_fn`` fixtures of the root ``conftest.py``.
"""

from shared.testing.contracts.base import BackendContract
from shared.testing.contracts.consumer import ConsumerCheckpointContract, MultiFeedConsumerContract
from shared.testing.contracts.eventstore import EventStoreContract
from shared.testing.contracts.executor import CommandExecutorContract
from shared.testing.contracts.outbox import OutboxRelayContract
from shared.testing.contracts.projection import ProjectionContract
from shared.testing.contracts.trust import TrustedConsumerContract

__all__ = [
    "BackendContract",
    "CommandExecutorContract",
    "ConsumerCheckpointContract",
    "EventStoreContract",
    "MultiFeedConsumerContract",
    "OutboxRelayContract",
    "ProjectionContract",
    "TrustedConsumerContract",
]
