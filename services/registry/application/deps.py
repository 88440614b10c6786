"""What every registry use case needs, gathered once at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from services.registry.application.lookup_rows import LOOKUP_ROWS
from services.registry.domain.certificate import SevereRule
from services.registry.domain.certificate_life import CertificatePolicy
from shared.auth import Principal, Role
from shared.eventstore import CommandContext, EventStore
from shared.eventstore.repository import Repository
from shared.pii import PersonalDataVault
from shared.ratelimit import PerMinuteLimit

WRITERS = (Role.FEDERATION_ADMIN, Role.TOWNSHIP_OFFICER)
"""Who changes persons and their plans (township officers within their township)."""


@dataclass(frozen=True)
class RegistryDeps:
    """The event store, the personal-data vault, configuration, the clock and the lookup limit."""

    store: EventStore
    vault: PersonalDataVault
    severe_rule: SevereRule
    today: Callable[[], date]
    certificate_policy: CertificatePolicy = field(default_factory=CertificatePolicy)
    import_max_bytes: int = 20_000_000
    lookups: PerMinuteLimit = field(default_factory=lambda: PerMinuteLimit("lookup by certificate number", 20))
    """Lookups by certificate number, per member of staff (``QD_LOOKUPS_PER_MINUTE``)."""

    @property
    def repository(self) -> Repository:
        """Loads and saves the registry's aggregates, keeping its lookup rows (``lookup_rows``)."""
        return Repository(self.store, LOOKUP_ROWS)

    def context(self, principal: Principal, correlation_id: str | None = None) -> CommandContext:
        """The envelope metadata for a command by ``principal``."""
        if correlation_id:
            return CommandContext(actor=principal.staff_id, department=principal.department,
                                  correlation_id=correlation_id)
        return CommandContext(actor=principal.staff_id, department=principal.department)
