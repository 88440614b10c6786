"""What every checklists use case needs, and the two questions asked before each command:
is this the right instance, and is this the right person."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.checklists.application.streams import ChecklistsRepository
from shared.access import Rule
from shared.auth import Principal
from shared.errors import Forbidden
from shared.eventstore import CommandContext, EventStore


@dataclass(frozen=True)
class ChecklistsDeps:
    """The event store, which department this instance serves, and the clock."""

    store: EventStore
    issuer_department: str
    served: frozenset[str]
    today: Callable[[], date]

    @property
    def repository(self) -> ChecklistsRepository:
        """Loads (own streams or replicas) and saves (own streams only), keeping the lookup rows."""
        return ChecklistsRepository(self.store, served=self.served, is_issuer=self.is_issuer)

    @property
    def department(self) -> str:
        """The department this instance is deployed for: every event it writes carries it."""
        return self.store.department

    @property
    def is_issuer(self) -> bool:
        """Whether this is the instance that issues lists and templates and reviews highlights."""
        return self.store.department == self.issuer_department

    def context(self, principal: Principal) -> CommandContext:
        """Envelope metadata: the actor is the caller, the department is this instance's (its subject)."""
        return CommandContext(actor=principal.staff_id, department=self.department)

    def require_issuer(self, principal: Principal, rule: Rule, action: str) -> None:
        """The roles of ``rule`` (federation admins: ``application/access.py``), on the issuer's instance."""
        rule.require(principal, action)
        if not self.is_issuer:
            raise Forbidden(
                f"{action}: this checklists instance serves department {self.department}; "
                f"that is done on the {self.issuer_department} instance"
            )

    def require_worker(self, principal: Principal, rule: Rule, department: str, action: str) -> None:
        """The roles of ``rule`` (a department's officers or its admins: ``application/access.py``) of
        ``department`` itself, on an instance that serves that department."""
        rule.require(principal, action)
        if principal.department != department:
            raise Forbidden(
                f"{action}: {principal.staff_id} belongs to department {principal.department}, "
                f"and may act only on {principal.department}'s own work, not {department}'s"
            )
        if department not in self.served:
            raise Forbidden(
                f"{action}: this checklists instance serves {', '.join(sorted(self.served))}; "
                f"{department}'s work is reported on {department}'s own instance"
            )
