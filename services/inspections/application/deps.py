"""What every inspections use case needs, gathered once at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from services.inspections.application.lookup_rows import LOOKUP_ROWS
from shared.auth import Principal
from shared.eventstore import CommandContext, EventStore
from shared.eventstore.repository import Repository
from shared.pii import MasterKey, PersonalDataVault


@dataclass(frozen=True)
class InspectionsDeps:
    """The event store, the clock and the vault that seals free texts about persons."""

    store: EventStore
    today: Callable[[], date]
    vault: PersonalDataVault = field(default_factory=lambda: PersonalDataVault(MasterKey.generate()))
    """Production passes the vault of the configured master key (``bootstrap.build_deps``); the
    default, a random key, suits tests only."""

    @property
    def repository(self) -> Repository:
        """Loads and saves the service's aggregates, keeping its lookup rows (``lookup_rows``)."""
        return Repository(self.store, LOOKUP_ROWS)

    def context(self, principal: Principal) -> CommandContext:
        """The envelope metadata for a command by ``principal``."""
        return CommandContext(actor=principal.staff_id, department=principal.department)
