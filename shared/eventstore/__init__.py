"""Event store, outbox, consumer checkpoints and group-commit command execution."""

from shared.eventstore.executor import CommandExecutor
from shared.eventstore.store import ANY_VERSION, CommandContext, EventStore, RecordedEvent, Stream
from shared.eventstore.tables import metadata

__all__ = ["ANY_VERSION", "CommandContext", "CommandExecutor", "EventStore", "RecordedEvent", "Stream", "metadata"]
