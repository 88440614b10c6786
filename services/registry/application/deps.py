"""What every registry use case needs, gathered once at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.registry.domain.certificate import SevereRule
from shared.auth import Principal
from shared.eventstore import CommandContext, EventStore
from shared.pii import PersonalDataVault


@dataclass(frozen=True)
class RegistryDeps:
    """The event store, the personal-data vault, configuration and the clock."""

    store: EventStore
    vault: PersonalDataVault
    severe_rule: SevereRule
    today: Callable[[], date]

    def context(self, principal: Principal, correlation_id: str | None = None) -> CommandContext:
        """The envelope metadata for a command by ``principal``."""
        if correlation_id:
            return CommandContext(actor=principal.staff_id, department=principal.department,
                                  correlation_id=correlation_id)
        return CommandContext(actor=principal.staff_id, department=principal.department)
