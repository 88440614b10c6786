"""What every inspections use case needs, gathered once at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.auth import Principal
from shared.eventstore import CommandContext, EventStore


@dataclass(frozen=True)
class InspectionsDeps:
    """The event store and the clock."""

    store: EventStore
    today: Callable[[], date]

    def context(self, principal: Principal) -> CommandContext:
        """The envelope metadata for a command by ``principal``."""
        return CommandContext(actor=principal.staff_id, department=principal.department)
